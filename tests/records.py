"""Hand-made provenance records for report tests: a complete metrics.json or train_info.json with
placeholder provenance, built through the typed models so they stay in step with the writers.
A test module imports what it uses: ``from tests.records import write_metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deeplense.storage.provenance import EvalProvenance, MetricsFile, TrainInfo

HASH = "sha256:" + "0" * 64


def eval_provenance(**fields: Any) -> EvalProvenance:
    """An evaluation's provenance; ``fields`` override the placeholders."""
    base: dict[str, Any] = {
        "model": "m", "task": "classification", "architecture": "resnet18", "train_dataset": "d", "train_dataset_hash": HASH,
        "dataset": "d", "dataset_hash": HASH, "dataset_preset": "custom", "config_hash": HASH, "seed": 0, "checkpoint_epoch": 0,
        "split_fractions": {"train": 0.7, "val": 0.15, "test": 0.15}, "software": {"deeplense": "test"}, "git_commit": "unknown",
        "git_dirty": False,
    }
    return EvalProvenance(**(base | fields))


def metrics_file(values: dict[str, Any], *, provenance: dict[str, Any] | None = None, **fields: Any) -> MetricsFile:
    """A metrics.json record with the task's metric ``values``; ``fields`` override named fields."""
    prov = eval_provenance(**(provenance or {}))
    base: dict[str, Any] = {
        "model": prov.model, "architecture": prov.architecture, "task": prov.task, "dataset": prov.dataset,
        "train_dataset": prov.train_dataset, "dataset_hash": prov.dataset_hash, "checkpoint_epoch": 0, "classes": ["a", "b"],
        "split": "test", "software": prov.software, "n_test": 10, "provenance": prov,
    }
    return MetricsFile.model_validate(values | base | fields)


def write_metrics(path: Path, values: dict[str, Any], **fields: Any) -> Path:
    """Write :func:`metrics_file` to ``path``, as evaluation does."""
    path.write_text(metrics_file(values, **fields).to_json())
    return path


def train_info(**fields: Any) -> TrainInfo:
    """A train_info.json record; ``fields`` override the placeholders."""
    base: dict[str, Any] = {
        "model": "m", "config": {}, "config_hash": HASH, "seed": 0, "split": {"train": 0.7, "val": 0.15, "test": 0.15},
        "dataset": "d", "dataset_hash": HASH, "store": "d.zarr", "task": {"name": "classification"}, "classes": ["a", "b"],
        "split_sizes": {"train": 7, "val": 2, "test": 1}, "image_shape": (1, 64, 64), "train_per_class": {"a": 4, "b": 3},
        "normalisation": {"mean": [0.0], "std": [1.0]}, "best_epoch": 0, "checkpoint_epoch": 0, "checkpoint": "best",
        "monitor": {"val_loss": 0.5}, "epochs_run": 1, "stopped_early": False, "device": "cpu", "mixed_precision": None,
        "threads": 2, "software": {"deeplense": "test"}, "git_commit": "unknown",
    }
    return TrainInfo(**(base | fields))


def write_train_info(path: Path, **fields: Any) -> Path:
    """Write :func:`train_info` to ``path``, as training does."""
    path.write_text(train_info(**fields).to_json())
    return path
