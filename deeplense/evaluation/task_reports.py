"""Per task, what an evaluation computes from a model's predictions: metrics (with bootstrap
intervals), the per-sample table and the figures. Adding a task's evaluation is registering one
function here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deeplense.evaluation.anomaly_metrics import anomaly_metrics, anomaly_roc_curves
from deeplense.evaluation.metrics import classification_metrics, roc_curves
from deeplense.evaluation.predict import Predictions
from deeplense.evaluation.regression_metrics import regression_metrics
from deeplense.report.anomaly_figures import plot_score_histograms
from deeplense.report.figures import plot_confusion, plot_roc
from deeplense.report.regression_figures import plot_calibration, plot_pred_vs_true, plot_residuals
from deeplense.training.tasks import Task

# The figures each task writes into the evaluation's figure folder (fixed names, so the report
# and the tests know what to expect).
FIGURES = {
    "classification": ("roc", "confusion"),
    "regression": ("pred_vs_true", "residuals", "calibration"),  # calibration: with uncertainties only
    "anomaly": ("scores", "roc"),
}


@dataclass(frozen=True)
class EvalContext:
    """What every task's evaluation shares: a figure title, the figure folder, units of the
    store's record fields, and the bootstrap's resamples and seed."""

    title: str
    figures: Path
    units: dict[str, str]
    n_resamples: int
    seed: int


TaskEvaluation = Callable[[Predictions, Task, EvalContext], tuple[dict[str, Any], pd.DataFrame]]
EVALUATIONS: dict[str, TaskEvaluation] = {}


def register_evaluation(task: str) -> Callable[[TaskEvaluation], TaskEvaluation]:
    def add(fn: TaskEvaluation) -> TaskEvaluation:
        EVALUATIONS[task] = fn
        return fn

    return add


def evaluate_predictions(preds: Predictions, task: Task, ctx: EvalContext) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics and per-sample table of ``preds``; writes the task's figures into ``ctx.figures``."""
    if task.name not in EVALUATIONS:
        raise KeyError(f"no evaluation for task {task.name!r}; known: {', '.join(sorted(EVALUATIONS))}")
    return EVALUATIONS[task.name](preds, task, ctx)


@register_evaluation("classification")
def _classification(preds: Predictions, task: Task, ctx: EvalContext) -> tuple[dict[str, Any], pd.DataFrame]:
    labels, probs, classes = preds.truth, preds.outputs["probs"], task.model_classes
    metrics = classification_metrics(labels, probs, classes, n_resamples=ctx.n_resamples, seed=ctx.seed)
    plot_roc(roc_curves(labels, probs, classes), metrics["auc_per_class"], ctx.figures / "roc.png", ctx.title)
    plot_confusion(metrics["confusion_matrix"], classes, ctx.figures / "confusion.png", ctx.title)
    table = pd.DataFrame({"sample": preds.samples, "label": labels, "class": np.asarray(classes)[labels],
                          **{f"p_{c}": probs[:, i] for i, c in enumerate(classes)}})
    return metrics, table


@register_evaluation("regression")
def _regression(preds: Predictions, task: Task, ctx: EvalContext) -> tuple[dict[str, Any], pd.DataFrame]:
    names = task.target_names
    truth, pred, sigma = preds.truth, preds.outputs["y_pred"], preds.outputs.get("y_sigma")
    metrics = regression_metrics(truth, pred, names, task.mean, sigma, n_resamples=ctx.n_resamples, seed=ctx.seed)
    metrics["target_units"] = {n: ctx.units.get(n, "") for n in names}
    plot_pred_vs_true(truth, pred, names, ctx.units, metrics, ctx.figures / "pred_vs_true.png", ctx.title, sigma)
    plot_residuals(truth, pred, names, ctx.units, ctx.figures / "residuals.png", ctx.title)
    if sigma is not None:
        plot_calibration(metrics, names, ctx.figures / "calibration.png", ctx.title)
    columns: dict[str, Any] = {"sample": preds.samples, "class": np.asarray(task.classes)[preds.labels]}
    for j, n in enumerate(names):
        columns |= {f"true_{n}": truth[:, j], f"pred_{n}": pred[:, j]}
        if sigma is not None:
            columns[f"sigma_{n}"] = sigma[:, j]
    return metrics, pd.DataFrame(columns)


@register_evaluation("anomaly")
def _anomaly(preds: Predictions, task: Task, ctx: EvalContext) -> tuple[dict[str, Any], pd.DataFrame]:
    scores, labels, classes = preds.outputs["score"], preds.labels, task.classes
    metrics = anomaly_metrics(scores, labels, classes, task.normal_class, n_resamples=ctx.n_resamples, seed=ctx.seed)
    plot_score_histograms(scores, labels, classes, task.normal_class, ctx.figures / "scores.png", ctx.title)
    curves = anomaly_roc_curves(scores, labels, classes, task.normal_class)
    plot_roc(curves, metrics["auc_per_class"], ctx.figures / "roc.png", f"{ctx.title}\nanomalous class vs {task.normal_class}")
    table = pd.DataFrame({"sample": preds.samples, "class": np.asarray(classes)[labels], "anomalous": preds.truth, "score": scores})
    return metrics, table
