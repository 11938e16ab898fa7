"""A trained model ready for new images: ``load_model(path)`` rebuilds it from a checkpoint, and
``predict(images)`` applies the preprocessing it was trained with (band count, image size,
per-band normalisation) and returns its task's outputs as named arrays.

The command line's Dask workers (or its threads in the calling process) call the same ``predict``
on each block of rows, in the same batches and on the same number of torch threads
(``PREDICT_THREADS`` unless asked otherwise), so on one machine the Python API and ``deeplense
predict`` give the same bits. The thread count is pinned
inside ``predict`` because CPU torch splits some reductions (a per-image mean, a pooling) between
threads: on some CPUs (AVX-512 kernels) 1 and 2 threads differ in the last bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deeplense.predict.geometry import GridFit, UnitError, fit_grid, pixel_units, regrid
from deeplense.predict.inputs import ImageSource, InputError, file_sha256

CHECKPOINT_NAME = "checkpoint.pt"
TRAIN_INFO_NAME = "train_info.json"
BATCH_SIZE = 128
PREDICT_THREADS = 1  # torch threads of a prediction: the command line's workers are one-threaded processes
DESCRIPTIONS = {
    "probs": "class probabilities",
    "predicted_class": "the most probable class, numbered in the model's class order (an index into `class`)",
    "predicted_class_name": "the most probable class, by name",
    "y_pred": "predicted values (physical units)",
    "y_sigma": "predicted 1σ uncertainty (physical units)",
    "score": "anomaly score (larger is more anomalous)",
    "mean": "posterior mean (physical units)",
    "std": "posterior standard deviation (physical units)",
    "q16": "posterior 16th percentile (physical units)",
    "q50": "posterior median (physical units)",
    "q84": "posterior 84th percentile (physical units)",
    "draws": "posterior draws, sample × draw × target (physical units), seeded by each batch's pixels",
}


def checkpoint_path(path: str | Path) -> Path:
    """The checkpoint a MODEL argument names: a ``results/models/<name>`` folder or the file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise InputError(f"model {path}: no checkpoint there; give a results/models/<name> folder or its {CHECKPOINT_NAME}")
    return path


@dataclass(frozen=True)
class OutputField:
    """One array of the predictions: its name, per-image columns (None: one value per image) and
    what the columns are."""

    name: str
    columns: list[str] | None
    description: str
    dtype: str = "float32"
    draws: int | None = None  # per image a (draws × columns) array: posterior draws

    def shape(self) -> tuple[int, ...]:
        """One image's shape of this array."""
        return tuple(([self.draws] if self.draws else []) + ([len(self.columns)] if self.columns else []))


class LoadedModel:
    """A checkpoint's network with its task and preprocessing (see the module docstring)."""

    def __init__(self, checkpoint: str | Path, threads: int = PREDICT_THREADS) -> None:
        from deeplense.tasks import task_from_state
        from deeplense.training.checkpoints import load_checkpoint

        self.checkpoint = checkpoint_path(checkpoint)
        self.sha256 = file_sha256(self.checkpoint)
        self.network, self.info = load_checkpoint(self.checkpoint)
        self.task = task_from_state(self.info.task_state)
        self.name = self.checkpoint.parent.name
        if threads < 1:
            raise ValueError(f"threads = {threads}: must be at least 1")
        self.threads = threads
        self._mean = np.asarray(self.info.normalisation["mean"], dtype=np.float32)[:, None, None]
        self._inv_std = (1.0 / np.asarray(self.info.normalisation["std"], dtype=np.float32))[:, None, None]

    # ---- what the model expects ------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.info.in_chans, self.info.img_size, self.info.img_size)

    def split_fractions(self) -> dict[str, float] | None:
        """The split fractions the model trained with (from train_info.json beside the checkpoint)."""
        from deeplense.storage.provenance import TrainInfo

        info = self.checkpoint.with_name(TRAIN_INFO_NAME)
        return TrainInfo.read(info).split if info.is_file() else None

    def check_input(self, source: ImageSource, where: str, resize: bool = False, crop: bool = False) -> GridFit:
        """How ``source``'s images become the model's (``geometry.fit_grid``): refused, naming
        ``where``, what the model expects and the options that make them fit, when their band count
        differs, or their size, pixel scale or field of view differs and ``resize``/``crop`` do not
        cover it; resampled in the pixel units the source records (``geometry.pixel_units``)."""
        try:
            units = pixel_units(source.units)
        except UnitError as e:
            raise InputError(f"{source.units_origin() or where}: {e}") from None
        bands, size, _ = self.image_shape
        return fit_grid(f"{where}: images", source.shape, source.pixel_scale, self.name, bands, size, self.info.pixel_scale,
                        resize=resize, crop=crop, units=units)

    def fields(self) -> list[OutputField]:
        """The arrays ``predict`` returns: the task's own (``Task.output_columns``), and with class
        probabilities the most probable class."""
        declared = self.task.output_columns()
        n_draws = self.task.output_draws()
        out = [OutputField(name, columns, DESCRIPTIONS.get(name, name), draws=n_draws if name == "draws" else None)
               for name, columns in declared.items()]
        if "probs" in declared:
            out.append(OutputField("predicted_class", None, DESCRIPTIONS["predicted_class"], "int64"))
            out.append(OutputField("predicted_class_name", None, DESCRIPTIONS["predicted_class_name"], "str"))
        return out

    # ---- prediction ------------------------------------------------------------------------------
    def preprocess(self, images: np.ndarray, units: str | None = None) -> np.ndarray:
        """float32 ``(n, band, size, size)`` images, normalised as in training; images of another
        size are resampled over the same field of view, conserving flux in their pixel ``units``
        (default: a flux per pixel, as the training images; see ``deeplense.predict.geometry``)."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3 and self.info.in_chans == 1:
            images = images[:, None]
        size = self.info.img_size
        if images.ndim != 4 or images.shape[1] != self.info.in_chans:
            raise InputError(f"images of shape {images.shape}; model {self.name} expects (n, {self.info.in_chans}, {size}, {size})")
        if images.shape[2:] != (size, size):
            images = regrid(images, size, pixel_units(units).per_area)
        return (images - self._mean) * self._inv_std

    def predict(self, images: np.ndarray, batch_size: int = BATCH_SIZE, units: str | None = None) -> dict[str, np.ndarray]:
        """The task's outputs for ``images`` (``(n, band, y, x)``, or ``(n, y, x)`` for one band),
        in batches of ``batch_size``, on ``threads`` torch threads: see ``fields``. ``units``: the
        pixel unit, which decides how images of another size are resampled (``preprocess``)."""
        import torch

        parts: list[dict[str, np.ndarray]] = []
        with torch_threads(self.threads), torch.no_grad():
            x = self.preprocess(images, units)
            for start in range(0, x.shape[0], batch_size):
                parts.append(self.task.predictions(self.network, torch.from_numpy(np.ascontiguousarray(x[start:start + batch_size]))))
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else self._empty()
        if "probs" in out:
            out["predicted_class"] = out["probs"].argmax(axis=1).astype(np.int64)
            out["predicted_class_name"] = np.asarray(self.task.model_classes, dtype=str)[out["predicted_class"]]
        return {f.name: out[f.name].astype(f.dtype) for f in self.fields()}

    def posterior(self, images: np.ndarray, n: int, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """(image, draw, target) posterior draws of a `posterior` model for ``images`` (physical
        units, inside the prior), ``n`` per image, seeded by each batch's pixels."""
        import torch

        if not hasattr(self.task, "draws"):
            raise ValueError(f"model {self.name} is a {self.task.name} model; posterior draws need a posterior model")
        parts = []
        with torch_threads(self.threads), torch.no_grad():
            x = self.preprocess(images)
            for start in range(0, x.shape[0], batch_size):
                parts.append(self.task.draws(self.network, torch.from_numpy(np.ascontiguousarray(x[start:start + batch_size])), n)[0])
        return np.concatenate(parts) if parts else np.zeros((0, n, len(self.task.target_names)))

    def _empty(self) -> dict[str, np.ndarray]:
        return {f.name: np.zeros((0, *f.shape()), dtype=f.dtype) for f in self.fields()}

    def provenance(self) -> dict[str, Any]:
        """What names the model in a prediction's attributes."""
        info = self.info
        return {"model": self.name, "checkpoint": str(self.checkpoint.resolve()), "checkpoint_sha256": self.sha256,
                "config_hash": info.config_hash, "architecture": info.architecture, "task": info.task,
                "train_dataset": info.dataset, "train_dataset_hash": info.dataset_hash, "checkpoint_epoch": info.epoch}


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's CPU thread count set to ``threads`` inside the block, restored after it."""
    import torch

    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def load_model(path: str | Path, threads: int = PREDICT_THREADS) -> LoadedModel:
    """The model of a ``results/models/<name>`` folder (or its checkpoint file), ready to
    ``predict(images)``. ``threads``: torch's CPU threads while predicting; the default is what
    each worker of ``deeplense predict`` uses, and gives its bits; more threads are faster on a
    many-core machine and agree with it to within float32 rounding."""
    return LoadedModel(path, threads)
