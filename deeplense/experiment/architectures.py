"""Can a model's architecture be used? Its name must be one ``create_model`` accepts (timm's zoo
or a deeplense-registered network), and the network must build for its dataset's bands and image
size and its task's outputs, so an ``architecture_args`` the network does not take, or images too
small for it, stop the run before the first job instead of failing at training.

Importing timm and torch costs ≈ 3.6–5 s: too much for every parse of the Snakefile (each cluster
job parses it again). Both answers are therefore cached under the user's cache folder
(``~/.cache/deeplense``, or ``$XDG_CACHE_HOME/deeplense``): the names once per deeplense version,
content of the deeplense.models and deeplense.tasks sources (adding an architecture there
refreshes it) and timm version; a successful build as an empty file named by a hash of everything
that decides it (architecture, its arguments, bands, image size, task, number of classes and
targets, loss, the name cache's key and the torch version). Only a new combination imports torch.

The network is built through the same ``create_model`` call as training, on torch's "meta"
device (shapes only: no memory, milliseconds), and one batch goes through the task's ``probe``
(an autoencoder's objective, or the output shape). Networks that compute data while being built
(e2cnn's steerable basis, CvT) cannot live on the meta device: they are built on the CPU.
Pretrained weights are not loaded (the config check only asks that the file exists).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import deeplense
from deeplense.validation import did_you_mean

if TYPE_CHECKING:
    from deeplense.config import ModelConfig

PACKAGE = Path(deeplense.__file__).resolve().parent
SOURCES = ("models", "tasks")  # whose code decides which names exist and what builds


def _sources_fingerprint() -> str:
    digest = hashlib.sha256()
    for folder in SOURCES:
        for source in sorted((PACKAGE / folder).glob("*.py")):
            digest.update(f"{folder}/{source.name}".encode() + source.read_bytes())
    return digest.hexdigest()[:12]


def cache_path() -> Path:
    """The cached list of architecture names (its folder also holds the build markers)."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deeplense"
    return root / f"architectures-deeplense{deeplense.__version__}-{_sources_fingerprint()}-timm{version('timm')}.json"


def _write(path: Path, text: str) -> None:
    """Write a cache file atomically; a read-only cache folder only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        pass


def architecture_names() -> frozenset[str]:
    """All names ``create_model`` accepts: timm's zoo and deeplense-registered architectures."""
    path = cache_path()
    try:
        return frozenset(json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    import timm

    from deeplense.models import ARCHITECTURES

    names = sorted(set(timm.list_models()) | set(ARCHITECTURES.names()))
    _write(path, json.dumps(names))
    return frozenset(names)


def architecture_problem(name: str) -> str | None:
    """Why ``name`` is no architecture (with the closest names), or None. A name missing from the
    cache is looked up live (imports torch): registered since the cache was written."""
    names = architecture_names()
    if name in names:
        return None
    from deeplense.models import architecture_exists

    if architecture_exists(name):
        return None
    return (
        f"unknown architecture{did_you_mean(name, sorted(names), n=3) or ';'} allowed: a timm model name "
        f"(timm.list_models()) or a registered deeplense architecture"
    )


def build_problem(model: ModelConfig, classes: list[str], in_chans: int, img_size: int) -> tuple[str, str] | None:
    """None if ``model`` can be built and run on (in_chans, img_size, img_size) images of a
    dataset with ``classes``; else (the field to blame, what is wrong)."""
    marker = _marker(model, classes, in_chans, img_size)
    if marker.exists():
        return None
    why = _try(model, classes, in_chans, img_size)
    if why is None:
        _write(marker, "")
    return why


def _marker(model: ModelConfig, classes: list[str], in_chans: int, img_size: int) -> Path:
    names = cache_path()
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


def _try(model: ModelConfig, classes: list[str], in_chans: int, img_size: int) -> tuple[str, str] | None:
    import torch

    from deeplense.models import create_model
    from deeplense.tasks import TASKS

    task = TASKS.get(model.task).from_config(model, classes)
    outputs = task.num_outputs()

    def build_and_run(device: str) -> str | None:
        with torch.device(device), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = create_model(model.architecture, in_chans=in_chans, num_outputs=outputs, img_size=img_size, **model.architecture_args)
            net.eval()
            return task.probe(net, torch.zeros(2, in_chans, img_size, img_size))

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
