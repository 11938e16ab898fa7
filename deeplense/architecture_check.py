"""Can a model's architecture be built for its dataset? Checked when the config is loaded, so an
``architecture_args`` the network does not take, or images too small for it, stop the run before
the first job instead of failing at training.

The network is built through the same ``create_model`` call as training
(deeplense.training.trainer.prepare), for the dataset's bands and image size and the task's
outputs, on torch's "meta" device (shapes only: no memory, milliseconds), and one batch goes
through it (and, for an autoencoder, through its objective). Networks that compute data while
being built (e2cnn's steerable basis, CvT) cannot live on the meta device: they are built on the
CPU. Pretrained weights are not loaded (``ModelConfig`` checks that the file exists).

Importing torch and timm costs ≈ 3.6 s: too much for every parse of the Snakefile (each cluster
job parses it again). A successful check is therefore remembered as an empty file under the user's
cache folder, named by a hash of everything that decides it: architecture, its arguments, bands,
image size, task, number of classes and targets, loss, and the versions of deeplense (with its
model sources), timm and torch. Only a new combination imports torch.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deeplense.config import ModelConfig


def build_problem(model: "ModelConfig", classes: list[str], in_chans: int, img_size: int) -> tuple[str, str] | None:
    """None if ``model`` can be built and run on (in_chans, img_size, img_size) images of a
    dataset with ``classes``; else (the field to blame, what is wrong)."""
    marker = _marker(model, classes, in_chans, img_size)
    if marker.exists():
        return None
    why = _try(model, classes, in_chans, img_size)
    if why is None:
        try:  # a read-only cache folder only costs speed
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass
    return why


def _marker(model: "ModelConfig", classes: list[str], in_chans: int, img_size: int) -> Path:
    from deeplense.models.catalog import _cache_path  # the architecture-name cache: deeplense, sources, timm

    names = _cache_path()
    decides: dict[str, Any] = {
        "architecture": model.architecture,
        "architecture_args": model.architecture_args,
        "in_chans": in_chans,
        "img_size": img_size,
        "task": model.task,
        "classes": len(model.classes or classes),
        "targets": len(model.targets),
        "loss": model.loss_name,
        "catalog": names.stem,
        "torch": version("torch"),
    }
    key = hashlib.sha256(json.dumps(decides, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return names.parent / "buildable" / f"{key}.ok"


def _try(model: "ModelConfig", classes: list[str], in_chans: int, img_size: int) -> tuple[str, str] | None:
    import torch

    from deeplense.models.registry import create_model
    from deeplense.training.tasks import TASKS

    task = TASKS.get(model.task)(
        classes, model.classes, target_names=model.targets, loss=model.loss_name, normal_class=model.normal_class
    )
    outputs = task.num_outputs()

    def build_and_run(device: str) -> str | None:
        with torch.device(device), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = create_model(model.architecture, in_chans=in_chans, num_outputs=outputs, img_size=img_size, **model.architecture_args)
            net.eval()
            images = torch.zeros(2, in_chans, img_size, img_size)
            if model.task == "anomaly":
                task.loss(net, images, torch.zeros(2, dtype=torch.long))  # the autoencoder's own objective
                return None
            shape = tuple(net(images).shape)
        if shape != (2, outputs):
            return f"gives outputs of shape {shape[1:]} per image; task {model.task} needs {outputs}"
        return None

    try:
        try:
            with torch.no_grad():
                why = build_and_run("meta")
        except NotImplementedError:  # computes data while being built: no meta tensors
            with torch.no_grad():
                why = build_and_run("cpu")
    except Exception as e:  # noqa: BLE001 (any failure to build is the config's to fix)
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        blame_args = bool(model.architecture_args) and (isinstance(e, TypeError) or any(k in why for k in model.architecture_args))
        field = "architecture_args" if blame_args else "architecture"
    else:
        field = "architecture"
        if why is None:
            return None
    images = f"{in_chans}×{img_size}×{img_size} images (bands × num_pix²)"
    return field, f"cannot build {model.architecture} for {images} and {outputs} outputs ({model.task}): {why[:400]}"
