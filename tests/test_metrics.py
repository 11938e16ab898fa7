"""Metric functions against values computed by hand."""

import numpy as np
import pytest

from deeplense.evaluation.metrics import classification_metrics, roc_curves
from deeplense.report.leaderboard import write_leaderboard

CLASSES = ["a", "b", "c"]


def test_perfect_classifier():
    labels = np.array([0, 1, 2, 0])
    m = classification_metrics(labels, np.eye(3)[labels], CLASSES)
    assert m["accuracy"] == 1 and m["auc_macro"] == 1 and m["auc_micro"] == 1
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_hand_computed_auc_and_accuracy():
    # class a scores: positives (0.9, 0.4), negatives (0.5, 0.1): pairs ranked right 3 of 4 → 0.75
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1, 0.0], [0.4, 0.6, 0.0], [0.5, 0.5, 0.0], [0.1, 0.9, 0.0]])
    m = classification_metrics(labels, probs, CLASSES)
    assert m["auc_per_class"]["a"] == pytest.approx(0.75)
    assert m["auc_per_class"]["b"] == pytest.approx(0.75)
    assert m["auc_per_class"]["c"] is None  # absent from the labels: undefined, not 0.5
    assert m["auc_macro"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.5)  # argmax: a, b, a, b
    assert m["confusion_matrix"] == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert set(roc_curves(labels, probs, CLASSES)) == {"a", "b"}


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="expected \\(2, 3\\)"):
        classification_metrics(np.array([0, 1]), np.ones((2, 2)), CLASSES)


def test_leaderboard_sorted_by_macro_auc(tmp_path):
    import json

    files = []
    for name, auc in (("m1", 0.7), ("m2", 0.9)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"model": name, "auc_macro": auc, "accuracy": auc - 0.1, "auc_per_class": {"a": auc}}))
        files.append(path)
    table = write_leaderboard(files, tmp_path / "lb.csv", tmp_path / "lb.html")
    assert list(table["model"]) == ["m2", "m1"]
    assert "<table" in (tmp_path / "lb.html").read_text() and "m2" in (tmp_path / "lb.csv").read_text()
