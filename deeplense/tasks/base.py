"""A task: which samples a model learns from, what it predicts, its loss, how its outputs become
predictions, how they are evaluated, and everything the rest of deeplense reads about it, declared
on one class: the losses and monitored validation figures the config allows (and which are
maximised), the metrics the command line reports, the figures with their report captions, and the
leaderboard columns. Adding a task is registering one ``Task`` subclass with ``@register_task``
(and importing its module in ``deeplense/tasks/__init__.py``).

Importing a task costs numpy only: the config reads the declarations while it validates; torch,
scikit-learn and matplotlib are imported by the methods that need them.

A task is rebuilt from a checkpoint with ``task_from_state``: everything evaluation needs (class
order, target names and their standardisation) is in ``Task.state()``.

Prediction contract (``Task.predictions``, numpy, physical units), e.g.:
- classification: ``{"probs": (n, k)}`` over ``task.model_classes``;
- regression: ``{"y_pred": (n, t)}`` and, with the Gaussian NLL loss, ``{"y_sigma": (n, t)}``;
- anomaly: ``{"score": (n,)}``, larger is more anomalous;
- posterior: ``{"draws": (n, S, t)}`` posterior draws and their ``mean``, ``std``, ``q16``, ``q50``,
  ``q84`` (n, t).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from deeplense.registry import Registry
from deeplense.validation import Problem, not_one_of

if TYPE_CHECKING:
    import pandas as pd
    import torch
    import xarray as xr

    from deeplense.config import ModelConfig


@dataclass(frozen=True)
class Monitor:
    """A validation figure a model may ``monitor`` (select its checkpoint on, stop early on)."""

    label: str  # what its training curve shows
    maximise: bool = False  # larger is better
    fraction: bool = False  # lies in [0, 1]: its curve is drawn on that range


@dataclass(frozen=True)
class Column:
    """A leaderboard column: its name and the metrics.json key it shows."""

    name: str
    key: str
    lower_is_better: bool = False


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on some samples of a store, with what they are compared against.

    ``labels``: class index in the store's class order; ``truth``: the task's ground truth
    (``Task.truth``); ``outputs``: the task's prediction arrays (the module's contract).
    """

    samples: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    outputs: dict[str, np.ndarray]


@dataclass(frozen=True)
class EvalContext:
    """What every task's evaluation shares: a figure title, the figure folder, units of the
    store's record fields, and the bootstrap's resamples and seed."""

    title: str
    figures: Path
    units: dict[str, str]
    n_resamples: int
    seed: int
    images: Callable[[np.ndarray], np.ndarray] | None = None  # raw images of store samples, for figures that show them


VAL_LOSS = {"val_loss": Monitor("validation loss")}


class Task:
    """What is learnt from a dataset store. ``classes`` is the store's class order."""

    name: ClassVar[str]
    losses: ClassVar[tuple[str, ...]] = ()  # allowed `loss` values, the default first; none: the model's own objective
    monitors: ClassVar[dict[str, Monitor]] = VAL_LOSS  # allowed `monitor` values (val_loss first)
    uses_targets: ClassVar[bool] = False  # predicts per-image record fields named by `targets`
    headline: ClassVar[tuple[str, ...]] = ()  # metrics.json keys `deeplense evaluate` prints
    figures: ClassVar[dict[str, str]] = {}  # figure name (figures/<name>.png) → its report caption
    leaderboard: ClassVar[tuple[Column, ...]] = ()  # the first is the task's ranking metric

    def __init__(self, classes: list[str], model_classes: list[str] | None = None, **_: Any) -> None:
        self.classes = list(classes)
        self.model_classes = list(model_classes or classes)
        unknown = [c for c in self.model_classes if c not in self.classes]
        if unknown:
            raise ValueError(f"classes {unknown} are not in the dataset; it has {self.classes}")

    # ---- declarations the config and the report read -----------------------------------------
    @classmethod
    def default_loss(cls) -> str | None:
        """The loss used when the config names none (None: the model's own objective)."""
        return cls.losses[0] if cls.losses else None

    @classmethod
    def maximised(cls, monitor: str) -> bool:
        """Whether a larger ``monitor`` is better (checkpoint selection, early stopping, plateau)."""
        return cls.monitors[monitor].maximise

    @classmethod
    def field_problems(cls, model: ModelConfig) -> list[Problem]:
        """What is wrong with a model config's task fields (``targets``, ``loss``, ``monitor``) for
        this task, at paths relative to the model."""
        if cls.uses_targets and not model.targets:
            return [Problem(("targets",), f"task {cls.name} needs `targets`: the per-image record fields to predict (e.g. log10_m_axion)")]
        if not cls.uses_targets and model.targets:
            users = ", ".join(name for name, task in TASKS.items() if task.uses_targets)
            return [Problem(("targets",), f"`targets` is for task {users}, not {cls.name}", model.targets)]
        if model.loss is not None and model.loss not in cls.losses:
            if not cls.losses:
                return [Problem(("loss",), f"does not fit task {cls.name}; allowed: none (the model’s own objective)", model.loss)]
            return [Problem(("loss",), not_one_of(f"does not fit task {cls.name}", model.loss, sorted(cls.losses)), model.loss)]
        if model.monitor not in cls.monitors:
            return [Problem(("monitor",), not_one_of(f"does not fit task {cls.name}", model.monitor, sorted(cls.monitors)), model.monitor)]
        return []

    @classmethod
    def class_problems(cls, model: ModelConfig, known: list[str], chosen: list[str]) -> list[Problem]:
        """What is wrong with the classes a model uses (``chosen``, of the dataset's ``known``) for
        this task, at paths relative to the model."""
        return []

    @classmethod
    def dataset_problems(cls, model: ModelConfig, dataset: dict[str, Any], chosen: list[str]) -> list[tuple[int, str]]:
        """(target index, why) for each of a model's ``targets`` this task cannot use on the images
        of classes ``chosen`` of a dataset (its config dump); none by default."""
        return []

    @classmethod
    def config_summary(cls, model: ModelConfig) -> str:
        """This task's own fields of a model config, for the report's captions (``, targets theta_E``)."""
        return f", targets {', '.join(model.targets)}" if model.targets else ""

    @classmethod
    def from_config(cls, cfg: ModelConfig, classes: list[str]) -> Task:
        """The task of model config ``cfg`` on a store with ``classes`` (its class order)."""
        return cls(classes, cfg.classes)

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "classes": self.classes, "model_classes": self.model_classes}

    # ---- samples and targets ---------------------------------------------------------------------
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

    def train_classes(self) -> list[str]:
        """The classes it learns from (its training and validation samples): what the config
        checks each split gives enough images of."""
        return self.model_classes

    def eval_classes(self) -> list[str]:
        """The classes whose test samples it is evaluated on."""
        return self.train_classes()

    def train_indices(self, ds: xr.Dataset, indices: np.ndarray) -> np.ndarray:
        """The samples of a split (training or validation) this task learns from."""
        return self._in_classes(ds, indices, self.train_classes())

    def eval_indices(self, ds: xr.Dataset, indices: np.ndarray) -> np.ndarray:
        """The samples of the test split this task is evaluated on."""
        return self.train_indices(ds, indices)

    def targets(self, ds: xr.Dataset) -> np.ndarray:  # pragma: no cover - abstract
        """Per-sample training targets for the whole store (indexed by sample)."""
        raise NotImplementedError

    def truth(self, ds: xr.Dataset) -> np.ndarray:
        """Per-sample ground truth evaluation compares predictions with (physical units)."""
        return self.targets(ds)

    def network(self, backbone: torch.nn.Module) -> torch.nn.Module:
        """The trained network around the architecture's ``backbone`` (built with ``num_outputs``
        outputs): the backbone itself, unless the task adds trainable parts (a density estimator)."""
        return backbone

    # ---- the network's outputs -------------------------------------------------------------------
    def loss_from_outputs(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def predictions_from_outputs(self, outputs: torch.Tensor) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def output_columns(self) -> dict[str, list[str] | None]:
        """Each array ``predictions`` returns, with the names of its columns (None: one value per
        image): what ``deeplense predict`` writes for new images."""
        raise NotImplementedError(f"task {self.name} does not declare its prediction arrays (Task.output_columns)")

    def output_draws(self) -> int | None:
        """Draws per image of an output named ``draws`` (posterior draws), or None."""
        return None

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

    def probe(self, model: torch.nn.Module, images: torch.Tensor) -> str | None:
        """Why ``model`` cannot serve this task on a batch of ``images``, or None (the config's
        build check, on torch's meta device): by default, its outputs must be (n, num_outputs)."""
        shape = tuple(model(images).shape)
        if shape != (images.shape[0], self.num_outputs()):
            return f"gives outputs of shape {shape[1:]} per image; task {self.name} needs {self.num_outputs()}"
        return None

    def val_metrics(self, preds: dict[str, np.ndarray], targets: np.ndarray) -> dict[str, float]:
        """Validation figures besides the loss (the keys of ``monitors``)."""
        return {}

    # ---- evaluation ------------------------------------------------------------------------------
    def metrics(self, preds: Predictions, ctx: EvalContext) -> dict[str, Any]:  # pragma: no cover
        """The metrics of ``preds`` (with bootstrap intervals): the task's values in metrics.json."""
        raise NotImplementedError

    def evaluate(self, preds: Predictions, ctx: EvalContext) -> tuple[dict[str, Any], pd.DataFrame]:  # pragma: no cover
        """Metrics (``metrics``) and the per-sample table of ``preds``; draws the task's
        ``figures`` into ``ctx.figures``."""
        raise NotImplementedError

    def example_predictions(self, n: int = 24) -> Predictions:  # pragma: no cover
        """``n`` random predictions of the task's shapes (every class present): what ``metric_paths``
        computes the metrics of."""
        raise NotImplementedError

    def metric_paths(self) -> list[str]:
        """The dotted paths of the numbers in a metrics.json of this task (``auc_per_class.cdm``):
        what a sweep or learning curve may plot. Found by computing ``metrics`` on
        ``example_predictions``, so they are the names evaluation writes."""
        ctx = EvalContext(title="", figures=Path("."), units={}, n_resamples=0, seed=0)
        values = self.metrics(self.example_predictions(), ctx)
        return [p for p in numeric_paths(values) if p.split(".")[0] not in COUNTS]


TASKS: Registry[type[Task]] = Registry("task")
COUNTS = ("n_test",)  # numbers of a metrics.json that count images: not metrics to plot


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register a task under its ``name``."""
    return TASKS.register(cls.name)(cls)


def numeric_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths of the numbers (and undefined values, None) in nested ``values``."""
    out = []
    for key, value in values.items():
        if isinstance(value, dict):
            out += numeric_paths(value, f"{prefix}{key}.")
        elif value is None or (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)):
            out.append(f"{prefix}{key}")
    return out


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def task_names() -> list[str]:
    """Registered tasks, in registration order (the leaderboard's order)."""
    return [name for name, _ in TASKS.items()]


def loss_names() -> list[str]:
    """Every loss some task allows (what ``loss`` may be)."""
    return _ordered([loss for _, task in TASKS.items() for loss in task.losses])


def monitor_names() -> list[str]:
    """Every validation figure some task allows (what ``monitor`` may be)."""
    return _ordered([m for _, task in TASKS.items() for m in task.monitors])


def make_task(cfg: ModelConfig, ds: xr.Dataset) -> Task:
    """The task a model config asks for, on dataset store ``ds``."""
    return TASKS.get(cfg.task).from_config(cfg, list(ds.attrs["classes"]))


def task_from_state(state: dict[str, Any]) -> Task:
    """Rebuild a checkpoint's task (class order, targets and their statistics) from ``Task.state()``."""
    kwargs = dict(state)
    name = kwargs.pop("name")
    return TASKS.get(name)(kwargs.pop("classes"), kwargs.pop("model_classes"), **kwargs)
