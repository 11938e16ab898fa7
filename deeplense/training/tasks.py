"""Tasks: what a model predicts from a dataset, its loss, and how outputs become predictions.

Adding a task (regression, anomaly detection) means registering one ``Task`` subclass.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from deeplense.registry import Registry

TASKS: Registry[type["Task"]] = Registry("task")
register_task = TASKS.register


class Task:
    name: ClassVar[str]

    def __init__(self, ds: xr.Dataset) -> None:
        self.classes: list[str] = list(ds.attrs["classes"])

    def num_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def targets(self, ds: xr.Dataset) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def predict(self, outputs: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


@register_task("classification")
class Classification(Task):
    """Which dark-matter class an image belongs to; outputs are logits in the store's class order."""

    name = "classification"

    def num_outputs(self) -> int:
        return len(self.classes)

    def targets(self, ds: xr.Dataset) -> np.ndarray:
        return ds["label"].values.astype(np.int64)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    def predict(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities."""
        return outputs.softmax(dim=1)

    @staticmethod
    def correct(outputs: torch.Tensor, targets: torch.Tensor) -> int:
        return int((outputs.argmax(dim=1) == targets).sum())


def make_task(name: str, ds: xr.Dataset) -> Task:
    return TASKS.get(name)(ds)
