"""Anomaly-detection metrics: ROC AUC of the anomaly score for each anomalous class against the
normal class, and for all anomalous classes together, with score summaries per class."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from deeplense.metrics.bootstrap import bootstrap_ci
from deeplense.metrics.classification import binary_auc


def _aucs(scores: np.ndarray, labels: np.ndarray, classes: list[str], normal: int) -> dict[str, float | None]:
    is_normal = labels == normal
    out: dict[str, float | None] = {"auc": binary_auc((~is_normal).astype(int), scores)}
    for i, name in enumerate(classes):
        if i != normal:
            keep = is_normal | (labels == i)
            out[f"auc_per_class.{name}"] = binary_auc((labels[keep] == i).astype(int), scores[keep])
    return out


def anomaly_metrics(
    scores: np.ndarray, labels: np.ndarray, classes: list[str], normal_class: str, *, n_resamples: int = 0, seed: int = 0
) -> dict[str, Any]:
    """Metrics of anomaly ``scores`` (n,), larger = more anomalous, for samples of class index
    ``labels`` (n,) in ``classes``; ``normal_class`` is the class the model learnt.

    ``auc``: all anomalous classes against the normal one; ``auc_per_class``: each anomalous
    class against the normal one (``None`` where a class has no test sample). ``ci`` (with
    ``n_resamples`` > 0) holds bootstrap intervals of both.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.shape != labels.shape:
        raise ValueError(f"scores has shape {scores.shape}, labels {labels.shape}: expected one score per sample")
    normal = classes.index(normal_class)
    aucs = _aucs(scores, labels, classes, normal)
    out: dict[str, Any] = {
        "n_test": int(labels.size),
        "normal_class": normal_class,
        "auc": aucs.pop("auc"),
        "auc_per_class": {key.split(".", 1)[1]: v for key, v in aucs.items()},
        "class_counts": {name: int(np.sum(labels == i)) for i, name in enumerate(classes)},
        "score_median": {name: float(np.median(scores[labels == i])) if np.any(labels == i) else None for i, name in enumerate(classes)},
    }
    if n_resamples:
        out["ci"] = bootstrap_ci(lambda idx: _aucs(scores[idx], labels[idx], classes, normal), labels.size, n_resamples=n_resamples, seed=seed)
    return out


def anomaly_roc_curves(scores: np.ndarray, labels: np.ndarray, classes: list[str], normal_class: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(false-positive rate, true-positive rate) of each anomalous class against the normal one."""
    normal = classes.index(normal_class)
    out = {}
    for i, name in enumerate(classes):
        keep = (labels == normal) | (labels == i)
        truth = (labels[keep] == i).astype(int)
        if i != normal and 0 < truth.sum() < truth.size:
            fpr, tpr, _ = roc_curve(truth, scores[keep])
            out[name] = (fpr, tpr)
    return out
