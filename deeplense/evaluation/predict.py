"""Run a trained model over a split of a dataset store, in store order, without augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from deeplense.data.torch_loader import ChunkStream, make_loader
from deeplense.training.tasks import make_task
from deeplense.storage.dataset_store import open_dataset


@torch.no_grad()
def predict(model: torch.nn.Module, state: dict, store: str | Path, indices: np.ndarray, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(samples, targets, predictions) for ``indices``; predictions are the task's (probabilities)."""
    ds = open_dataset(store)
    task = make_task(state["task"], ds)
    norm = state["normalisation"]
    data = ChunkStream(store, indices, task.targets(ds), norm["mean"], norm["std"], batch_size=batch_size, shuffle=False)
    samples, targets, preds = [], [], []
    for images, y, s in make_loader(data):
        preds.append(task.predict(model(images)).numpy())
        targets.append(y.numpy())
        samples.append(np.asarray(s))
    return np.concatenate(samples), np.concatenate(targets), np.concatenate(preds)
