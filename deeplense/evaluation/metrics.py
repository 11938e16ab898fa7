"""Classification metrics from scikit-learn: accuracy, one-vs-rest ROC AUC per class, macro and
micro, ROC curves and the confusion matrix. Pure numpy in, plain Python out (JSON-ready)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score, roc_curve


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=int)[labels]


def classification_metrics(labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Metrics of class probabilities ``probs`` (n, k) against integer ``labels`` (n,).

    Per-class AUC is one-vs-rest; it is ``None`` for a class absent from ``labels`` (undefined),
    and the macro average is over the classes where it is defined.
    """
    labels = np.asarray(labels)
    probs = np.asarray(probs, dtype=float)
    k = len(classes)
    if probs.shape != (labels.size, k):
        raise ValueError(f"probs has shape {probs.shape}, expected ({labels.size}, {k})")
    truth = one_hot(labels, k)
    per_class: dict[str, float | None] = {}
    for i, name in enumerate(classes):
        positives = truth[:, i].sum()
        per_class[name] = float(roc_auc_score(truth[:, i], probs[:, i])) if 0 < positives < labels.size else None
    defined = [v for v in per_class.values() if v is not None]
    return {
        "n_test": int(labels.size),
        "accuracy": float(accuracy_score(labels, probs.argmax(axis=1))),
        "auc_macro": float(np.mean(defined)) if defined else None,
        "auc_micro": float(roc_auc_score(truth.ravel(), probs.ravel())) if 0 < truth.sum() < truth.size else None,
        "auc_per_class": per_class,
        "confusion_matrix": confusion_matrix(labels, probs.argmax(axis=1), labels=list(range(k))).tolist(),
        "class_counts": {name: int(truth[:, i].sum()) for i, name in enumerate(classes)},
    }


def roc_curves(labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One-vs-rest (false-positive rate, true-positive rate) per class present in ``labels``."""
    truth = one_hot(np.asarray(labels), len(classes))
    out = {}
    for i, name in enumerate(classes):
        if 0 < truth[:, i].sum() < truth.shape[0]:
            fpr, tpr, _ = roc_curve(truth[:, i], probs[:, i])
            out[name] = (fpr, tpr)
    return out
