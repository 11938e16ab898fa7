"""Run a trained model over a split of a dataset store, in store order, without augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deeplense.data.torch_loader import ChunkStream, make_loader
from deeplense.storage.dataset_store import open_dataset
from deeplense.tasks import Predictions, Task


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    task: Task,
    normalisation: dict,
    store: str | Path,
    indices: np.ndarray,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
) -> Predictions:
    """Predictions of ``model`` for the samples ``indices`` of ``store`` (normalised as in
    training), computed on ``device`` in float32."""
    ds = open_dataset(store)
    model.to(device).eval()
    indices = np.sort(np.asarray(indices, dtype=np.int64))
    data = ChunkStream(
        store, indices, np.arange(ds.sizes["sample"]), normalisation["mean"], normalisation["std"], batch_size=batch_size, shuffle=False
    )
    samples, parts = [], []
    for images, _, s in make_loader(data):
        parts.append(task.predictions(model, images.to(device)))
        samples.append(np.asarray(s))
    samples_arr = np.concatenate(samples) if samples else np.zeros(0, dtype=np.int64)
    outputs = {k: np.concatenate([p[k] for p in parts]) for k in (parts[0] if parts else {})}
    return Predictions(samples_arr, task.labels(ds)[samples_arr], task.truth(ds)[samples_arr], outputs)
