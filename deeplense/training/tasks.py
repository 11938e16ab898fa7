"""Tasks: which samples a model learns from, what it predicts, its loss, and how its outputs become
predictions. Adding a task means registering one ``Task`` subclass.

A task is rebuilt from a checkpoint with ``task_from_state``: everything evaluation needs (class
order, target names and their standardisation) is in ``Task.state()``.

Prediction contract (``Task.predictions``, numpy, physical units):
- classification: ``{"probs": (n, k)}`` over ``task.model_classes``;
- regression: ``{"y_pred": (n, t)}`` and, with the Gaussian NLL loss, ``{"y_sigma": (n, t)}``;
- anomaly: ``{"score": (n,)}``, larger is more anomalous.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from sklearn.metrics import roc_auc_score

from deeplense.registry import Registry

TASKS: Registry[type["Task"]] = Registry("task")
register_task = TASKS.register


class Task:
    """What is learnt from a dataset store. ``classes`` is the store's class order."""

    name: ClassVar[str]

    def __init__(self, classes: list[str], model_classes: list[str] | None = None, **_: Any) -> None:
        self.classes = list(classes)
        self.model_classes = list(model_classes or classes)
        unknown = [c for c in self.model_classes if c not in self.classes]
        if unknown:
            raise ValueError(f"classes {unknown} are not in the dataset; it has {self.classes}")

    @classmethod
    def from_config(cls, cfg: Any, ds: xr.Dataset) -> "Task":
        """The task of model config ``cfg`` (a ModelConfig) on dataset ``ds``."""
        return cls(list(ds.attrs["classes"]), cfg.classes)

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "classes": self.classes, "model_classes": self.model_classes}

    def fit(self, ds: xr.Dataset, train: np.ndarray) -> None:
        """Learn what the task needs from the training split (target statistics); nothing by default."""

    def num_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def labels(self, ds: xr.Dataset) -> np.ndarray:
        """Each sample's class index in the store's class order."""
        return ds["label"].values.astype(np.int64)

    def _in_classes(self, ds: xr.Dataset, indices: np.ndarray, classes: list[str]) -> np.ndarray:
        wanted = [self.classes.index(c) for c in classes]
        return indices[np.isin(self.labels(ds)[indices], wanted)]

    def train_indices(self, ds: xr.Dataset, indices: np.ndarray) -> np.ndarray:
        """The samples of a split (training or validation) this task learns from."""
        return self._in_classes(ds, indices, self.model_classes)

    def eval_indices(self, ds: xr.Dataset, indices: np.ndarray) -> np.ndarray:
        """The samples of the test split this task is evaluated on."""
        return self.train_indices(ds, indices)

    def targets(self, ds: xr.Dataset) -> np.ndarray:  # pragma: no cover - abstract
        """Per-sample training targets for the whole store (indexed by sample)."""
        raise NotImplementedError

    def truth(self, ds: xr.Dataset) -> np.ndarray:
        """Per-sample ground truth evaluation compares predictions with (physical units)."""
        return self.targets(ds)

    def loss_from_outputs(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def predictions_from_outputs(self, outputs: torch.Tensor) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def loss(self, model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training objective of a batch."""
        return self.loss_from_outputs(model(images), targets)

    def predictions(self, model: torch.nn.Module, images: torch.Tensor) -> dict[str, np.ndarray]:
        """Predictions of a batch, per the contract in the module docstring."""
        return self.predictions_from_outputs(model(images))

    def loss_and_predictions(self, model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
        """Both from one forward pass (validation)."""
        outputs = model(images)
        return self.loss_from_outputs(outputs, targets), self.predictions_from_outputs(outputs)

    def val_metrics(self, preds: dict[str, np.ndarray], targets: np.ndarray) -> dict[str, float]:
        """Validation figures besides the loss (named as ModelConfig.monitor names them)."""
        return {}


@register_task("classification")
class Classification(Task):
    """Which dark-matter class an image belongs to; outputs are logits over ``model_classes``
    (a subset of the store's classes, in the store's order)."""

    name = "classification"

    def num_outputs(self) -> int:
        return len(self.model_classes)

    def targets(self, ds: xr.Dataset) -> np.ndarray:
        """Index in ``model_classes``; -1 for samples of other classes (never trained on)."""
        lookup = np.array([self.model_classes.index(c) if c in self.model_classes else -1 for c in self.classes])
        return lookup[self.labels(ds)]

    def loss_from_outputs(self, outputs, targets):
        return F.cross_entropy(outputs.float(), targets)

    def predictions_from_outputs(self, outputs):
        return {"probs": outputs.detach().float().softmax(dim=1).cpu().numpy()}

    def val_metrics(self, preds, targets):
        probs = preds["probs"]
        out = {"val_accuracy": float((probs.argmax(axis=1) == targets).mean())}
        present = np.unique(targets)
        if present.size == len(self.model_classes) > 1 and np.isfinite(probs).all():  # a diverged model has no AUC
            out["val_auc"] = float(
                roc_auc_score(targets, probs[:, 1] if probs.shape[1] == 2 else probs, multi_class="ovr", average="macro")
            )
        return out


REGRESSION_LOSSES = ("mse", "mae", "huber", "gaussian_nll")


@register_task("regression")
class Regression(Task):
    """Per-image physics parameters (record fields such as ``log10_m_axion``), standardised with
    the training split's mean and std (stored in the checkpoint). With ``gaussian_nll`` the model
    also predicts a log-variance per target: an uncertainty."""

    name = "regression"

    def __init__(
        self,
        classes: list[str],
        model_classes: list[str] | None = None,
        *,
        target_names: list[str],
        loss: str = "mse",
        mean: list[float] | None = None,
        std: list[float] | None = None,
        **_: Any,
    ) -> None:
        super().__init__(classes, model_classes)
        if loss not in REGRESSION_LOSSES:
            raise ValueError(f"regression loss {loss!r} unknown; allowed: {', '.join(REGRESSION_LOSSES)}")
        self.target_names = list(target_names)
        self.loss_name = loss
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    @classmethod
    def from_config(cls, cfg, ds):
        return cls(list(ds.attrs["classes"]), cfg.classes, target_names=cfg.targets, loss=cfg.loss_name)

    def state(self):
        return super().state() | {
            "target_names": self.target_names,
            "loss": self.loss_name,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @property
    def predicts_uncertainty(self) -> bool:
        return self.loss_name == "gaussian_nll"

    def num_outputs(self) -> int:
        return len(self.target_names) * (2 if self.predicts_uncertainty else 1)

    def raw_targets(self, ds: xr.Dataset) -> np.ndarray:
        """(n_samples, n_targets) in physical units; NaN where a class does not record a field."""
        fields = sorted(v for v in ds.variables if ds[v].dims == ("sample",))
        missing = [t for t in self.target_names if t not in fields]
        if missing:
            raise KeyError(f"regression targets {missing} are not per-image record fields of the store; available: {', '.join(fields)}")
        return np.stack([ds[t].values.astype(np.float64) for t in self.target_names], axis=1)

    truth = raw_targets

    def train_indices(self, ds, indices):
        """Samples of ``model_classes`` whose targets are all recorded (finite)."""
        chosen = super().train_indices(ds, indices)
        finite = np.isfinite(self.raw_targets(ds)[chosen]).all(axis=1)
        return chosen[finite]

    def fit(self, ds, train):
        values = self.raw_targets(ds)[self.train_indices(ds, train)]
        if values.shape[0] == 0:
            raise ValueError(f"no training sample of classes {self.model_classes} records all of {self.target_names}")
        self.mean = values.mean(axis=0)
        std = values.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def targets(self, ds):
        """Standardised targets (float32); NaN rows are never drawn (see ``train_indices``)."""
        if self.mean is None:
            raise RuntimeError("Regression.fit must run on the training split before targets are standardised")
        return ((self.raw_targets(ds) - self.mean) / self.std).astype(np.float32)

    def _split(self, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        t = len(self.target_names)
        if self.predicts_uncertainty:
            return outputs[:, :t], outputs[:, t:].clamp(-12.0, 12.0)  # log-variance, kept finite
        return outputs, None

    def loss_from_outputs(self, outputs, targets):
        mean, log_var = self._split(outputs.float())
        if self.loss_name == "mse":
            return F.mse_loss(mean, targets)
        if self.loss_name == "mae":
            return F.l1_loss(mean, targets)
        if self.loss_name == "huber":
            return F.huber_loss(mean, targets, delta=1.0)  # delta in standardised units: 1 std
        return F.gaussian_nll_loss(mean, targets, log_var.exp(), full=True)

    def predictions_from_outputs(self, outputs):
        mean, log_var = self._split(outputs.detach().float())
        out = {"y_pred": mean.cpu().numpy() * self.std + self.mean}
        if log_var is not None:
            out["y_sigma"] = np.exp(0.5 * log_var.cpu().numpy()) * self.std
        return out

    def val_metrics(self, preds, targets):
        """``val_mae``: mean absolute error averaged over targets, in units of each target's std."""
        standardised = (preds["y_pred"] - self.mean) / self.std
        return {"val_mae": float(np.abs(standardised - targets).mean())}


@register_task("anomaly")
class Anomaly(Task):
    """Anomaly detection: an autoencoder learns the ``normal_class`` only (its own objective:
    reconstruction error, negative ELBO, ...); its anomaly score is evaluated on every class."""

    name = "anomaly"

    def __init__(self, classes: list[str], model_classes: list[str] | None = None, *, normal_class: str = "no_sub", **_: Any) -> None:
        super().__init__(classes, model_classes)
        if normal_class not in self.classes:
            raise ValueError(f"normal_class {normal_class!r} is not in the dataset; it has {self.classes}")
        self.normal_class = normal_class

    @classmethod
    def from_config(cls, cfg, ds):
        return cls(list(ds.attrs["classes"]), cfg.classes, normal_class=cfg.normal_class)

    def state(self):
        return super().state() | {"normal_class": self.normal_class}

    def num_outputs(self) -> int:
        return 0  # autoencoders reconstruct their input

    def train_indices(self, ds, indices):
        return self._in_classes(ds, indices, [self.normal_class])

    def eval_indices(self, ds, indices):
        return self._in_classes(ds, indices, self.model_classes)

    def targets(self, ds):
        """1 for anomalous, 0 for normal samples (the normal class never sees a 1 in training)."""
        return (self.labels(ds) != self.classes.index(self.normal_class)).astype(np.int64)

    @staticmethod
    def _check(model: torch.nn.Module) -> None:
        if not (hasattr(model, "objective") and hasattr(model, "anomaly_score")):
            raise TypeError(
                f"task anomaly needs an autoencoder (conv_ae, vae, aae: objective and anomaly_score); "
                f"{type(model).__name__} is not one"
            )

    def loss(self, model, images, targets):
        self._check(model)
        return model.objective(images)

    def predictions(self, model, images):
        self._check(model)
        return {"score": model.anomaly_score(images).detach().float().cpu().numpy()}

    def loss_and_predictions(self, model, images, targets):
        return self.loss(model, images, targets), self.predictions(model, images)


def make_task(cfg: Any, ds: xr.Dataset) -> Task:
    """The task a model config asks for, on dataset ``ds``."""
    return TASKS.get(cfg.task).from_config(cfg, ds)


def task_from_state(state: dict[str, Any]) -> Task:
    """Rebuild a checkpoint's task (class order, targets and their statistics) from ``Task.state()``."""
    kwargs = dict(state)
    name = kwargs.pop("name")
    return TASKS.get(name)(kwargs.pop("classes"), kwargs.pop("model_classes"), **kwargs)
