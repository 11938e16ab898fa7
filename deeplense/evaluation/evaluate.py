"""Evaluate a checkpoint on the fixed test split: metrics.json (with provenance), ROC and
confusion figures, and per-sample predictions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deeplense.data.splits import dataset_splits
from deeplense.evaluation.metrics import classification_metrics, roc_curves
from deeplense.evaluation.predict import predict
from deeplense.report.figures import plot_confusion, plot_roc
from deeplense.storage.atomic import atomic_path
from deeplense.storage.dataset_store import open_dataset
from deeplense.storage.provenance import software_versions
from deeplense.training.tasks import task_from_state
from deeplense.training.trainer import load_checkpoint


@dataclass(frozen=True)
class EvalOutputs:
    """Where evaluation writes: metrics with provenance, per-sample predictions, figures."""

    metrics: Path
    predictions: Path
    roc: Path
    confusion: Path

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "EvalOutputs":
        out_dir = Path(out_dir)
        return cls(out_dir / "metrics.json", out_dir / "predictions.csv", out_dir / "roc.png", out_dir / "confusion.png")


def evaluate_model(name: str, checkpoint: str | Path, store: str | Path, outputs: EvalOutputs, *, split: dict[str, float], threads: int = 1) -> dict:
    """Evaluate model ``name`` on the test split of ``store`` and write ``outputs``."""
    import torch

    torch.set_num_threads(max(1, threads))
    ds = open_dataset(store)
    model, state = load_checkpoint(checkpoint)
    if list(ds.attrs["classes"]) != state["classes"]:
        raise ValueError(f"{store} has classes {ds.attrs['classes']}, the model was trained on {state['classes']}")
    task = task_from_state(state["task_state"])
    test = task.eval_indices(ds, dataset_splits(ds, split)["test"])
    preds = predict(model, task, state["normalisation"], store, test)
    samples, labels, probs = preds.samples, preds.truth, preds.outputs["probs"]
    classes = task.model_classes
    metrics = classification_metrics(labels, probs, classes)
    metrics.update(
        {
            "model": name,
            "architecture": state["architecture"],
            "task": state["task"],
            "dataset": ds.attrs["dataset"],
            "dataset_hash": ds.attrs["content_hash"],
            "checkpoint_epoch": state["epoch"],
            "classes": classes,
            "split": "test",
            "software": software_versions(("torch", "timm", "scikit-learn")),
        }
    )
    title = f"{name} on {ds.attrs['dataset']} (test, n={labels.size})"
    plot_roc(roc_curves(labels, probs, classes), metrics["auc_per_class"], outputs.roc, title)
    plot_confusion(metrics["confusion_matrix"], classes, outputs.confusion, title)
    table = pd.DataFrame({"sample": samples, "label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(classes)}})
    with atomic_path(outputs.predictions) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(outputs.metrics) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True))
    return metrics
