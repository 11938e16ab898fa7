"""Metric functions against values computed by hand."""

import re

import numpy as np
import pandas as pd
import pytest

from deeplense.metrics.anomaly import anomaly_metrics
from deeplense.metrics.bootstrap import bootstrap_ci
from deeplense.metrics.classification import binary_auc, classification_metrics, roc_curves
from deeplense.config import model_config_hash
from deeplense.metrics.regression import regression_metrics, uncertainty_metrics
from deeplense.report.leaderboard import write_leaderboard
from tests.records import write_metrics

CLASSES = ["a", "b", "c"]


def test_perfect_classifier():
    labels = np.array([0, 1, 2, 0])
    m = classification_metrics(labels, np.eye(3)[labels], CLASSES)
    assert m["accuracy"] == 1 and m["auc_macro"] == 1 and m["auc_micro"] == 1
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert m["confusion_matrix_normalised"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


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
    assert m["confusion_matrix_normalised"][0] == [0.5, 0.5, 0.0]
    assert set(roc_curves(labels, probs, CLASSES)) == {"a", "b"}


def test_micro_auc_by_hand():
    # one-hot truth flattened: positives 0.8, 0.7; negatives 0.2, 0.3 → every pair ranked right
    labels = np.array([0, 1])
    probs = np.array([[0.8, 0.2], [0.3, 0.7]])
    assert classification_metrics(labels, probs, ["a", "b"])["auc_micro"] == 1.0


def test_rank_auc_equals_scikit_learn_with_ties():
    """binary_auc (Mann-Whitney over mid-ranks) is scikit-learn's roc_auc_score to 1e-12, on
    continuous scores, scores with many ties (rounded), and groups of very different sizes."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 300))
        truth = rng.random(n) < rng.uniform(0.02, 0.98)
        if truth.all() or not truth.any():
            assert binary_auc(truth, rng.random(n)) is None
            continue
        scores = rng.normal(truth * rng.uniform(0, 2), 1.0)
        if trial % 2:
            scores = np.round(scores, 1)  # ties within and across the groups
        assert abs(binary_auc(truth, scores) - roc_auc_score(truth, scores)) <= 1e-12
    with pytest.raises(ValueError, match="NaN or infinity"):
        binary_auc(np.array([0, 1]), np.array([0.1, np.nan]))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="expected \\(2, 3\\)"):
        classification_metrics(np.array([0, 1]), np.ones((2, 2)), CLASSES)


def test_bootstrap_percentile_interval_of_a_mean():
    values = np.arange(100, dtype=float)
    ci = bootstrap_ci(lambda idx: {"mean": values[idx].mean(), "never": None}, values.size, n_resamples=2000, seed=1)
    # the standard error of the mean is 29.0/√100 = 2.9: the 95% interval is ≈ 49.5 ± 1.96·2.9
    assert ci["mean"]["low"] == pytest.approx(49.5 - 1.96 * 2.9, abs=0.8)
    assert ci["mean"]["high"] == pytest.approx(49.5 + 1.96 * 2.9, abs=0.8)
    assert ci["mean"]["n_valid"] == 2000 and ci["never"] == {**ci["never"], "low": None, "high": None, "n_valid": 0}
    again = bootstrap_ci(lambda idx: {"mean": values[idx].mean()}, values.size, n_resamples=2000, seed=1)
    assert again["mean"]["low"] == ci["mean"]["low"]  # seeded: reproducible


def test_classification_intervals_contain_the_estimate():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    probs = np.eye(3)[labels] * 0.5 + rng.random((90, 3))
    probs /= probs.sum(axis=1, keepdims=True)
    m = classification_metrics(labels, probs, CLASSES, n_resamples=300, seed=3)
    for key in ("accuracy", "auc_macro", "auc_micro"):
        assert m["ci"][key]["low"] <= m[key] <= m["ci"][key]["high"], key
    assert m["ci"]["auc_per_class.b"]["low"] <= m["auc_per_class"]["b"]


def test_regression_by_hand():
    truth = np.array([[1.0], [2.0], [3.0], [4.0]])
    pred = np.array([[1.5], [2.0], [2.0], [5.0]])  # errors +0.5, 0, −1, +1
    m = regression_metrics(truth, pred, ["x"], train_mean=np.array([2.0]))
    t = m["targets"]["x"]
    assert t["mae"] == pytest.approx(2.5 / 4)
    assert t["rmse"] == pytest.approx(np.sqrt(2.25 / 4))
    assert t["bias"] == pytest.approx(0.5 / 4)
    assert t["r2"] == pytest.approx(1 - 2.25 / 5.0)  # SS_res 2.25, SS_tot 5
    # constant predictor 2.0: errors 1, 0, 1, 2
    assert t["baseline"]["mae"] == pytest.approx(1.0) and t["baseline"]["rmse"] == pytest.approx(np.sqrt(6 / 4))
    assert t["baseline"]["r2"] == pytest.approx(1 - 6 / 5.0)
    assert m["mae"] == t["mae"] and m["baseline_mae"] == 1.0 and "uncertainty" not in t


def test_regression_averages_over_targets():
    truth = np.array([[0.0, 10.0], [1.0, 20.0]])
    pred = np.array([[0.0, 12.0], [1.0, 18.0]])
    m = regression_metrics(truth, pred, ["a", "b"], train_mean=np.array([0.5, 15.0]))
    assert m["targets"]["a"]["mae"] == 0 and m["targets"]["b"]["mae"] == 2
    assert m["mae"] == 1.0


def test_uncertainty_coverage_and_nll_by_hand():
    truth = np.zeros(4)
    pred = np.array([0.5, -1.5, 2.5, 0.0])
    sigma = np.ones(4)
    u = uncertainty_metrics(truth, pred, sigma)
    assert u["coverage_1sigma"] == 0.5  # |z| = 0.5, 1.5, 2.5, 0
    assert u["coverage_2sigma"] == 0.75
    assert u["nll"] == pytest.approx(0.5 * np.log(2 * np.pi) + 0.5 * np.mean([0.25, 2.25, 6.25, 0.0]))
    levels = dict(zip(u["calibration"]["expected"], u["calibration"]["observed"]))
    assert levels[0.683] == 0.5 and levels[0.954] == 0.75


def test_gaussian_predictions_are_calibrated():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(4000, 1))
    sigma = np.full((4000, 1), 0.3)
    pred = truth + rng.normal(scale=0.3, size=(4000, 1))
    m = regression_metrics(truth, pred, ["x"], np.zeros(1), sigma, n_resamples=50)
    cal = m["targets"]["x"]["uncertainty"]["calibration"]
    assert np.allclose(cal["observed"], cal["expected"], atol=0.03)
    assert m["ci"]["mae"]["low"] <= m["mae"] <= m["ci"]["mae"]["high"]


def test_anomaly_auc_per_class_and_overall_by_hand():
    classes = ["no_sub", "cdm", "vort"]
    labels = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([0.1, 0.4, 0.3, 0.9, 0.5, 0.6])
    m = anomaly_metrics(scores, labels, classes, "no_sub", n_resamples=100)
    # cdm (0.3, 0.9) vs normal (0.1, 0.4): pairs right 3 of 4; vort (0.5, 0.6): 4 of 4
    assert m["auc_per_class"] == {"cdm": 0.75, "vort": 1.0}
    assert m["auc"] == pytest.approx(7 / 8)
    assert m["class_counts"] == {"no_sub": 2, "cdm": 2, "vort": 2}
    assert 0 <= m["ci"]["auc"]["low"] <= m["auc"] <= m["ci"]["auc"]["high"] <= 1


def test_config_hash_names_the_training_config_only():
    from deeplense.config import ModelConfig

    cfg, split = ModelConfig(architecture="resnet18", dataset="d", epochs=2), {"train": 0.6, "val": 0.2, "test": 0.2}
    assert model_config_hash(cfg.training_dump(), 4, split) == cfg.config_hash(4, split)
    assert cfg.config_hash(4, split) == cfg.model_copy(update={"evaluate_on": ["other"]}).config_hash(4, split)
    assert cfg.config_hash(4, split) != cfg.model_copy(update={"epochs": 3}).config_hash(4, split)
    assert model_config_hash({"b": 1, "a": 2}, 0, split) == model_config_hash({"a": 2, "b": 1}, 0, split)


def test_leaderboard_sorted_by_task_metric(tmp_path):
    files = []
    for name, auc in (("m1", 0.7), ("m2", 0.9)):
        files.append(write_metrics(tmp_path / f"{name}.json", {"auc_macro": auc, "accuracy": auc - 0.1, "auc_per_class": {"a": auc}},
                                   model=name, ci={"auc_macro": {"low": auc - 0.05, "high": auc + 0.05}}))
    for name, mae in (("r1", 0.3), ("r2", 0.1)):
        files.append(write_metrics(tmp_path / f"{name}.json", {"mae": mae, "baseline_mae": 0.5}, model=name, task="regression",
                                   provenance={"dataset_preset": "hst_wfc3", "task": "regression"}))
    table = write_leaderboard(files, tmp_path / "lb.csv", tmp_path / "lb.html", tmp_path / "lb.md", tmp_path / "pub.csv")
    assert list(table["model"]) == ["m2", "m1", "r2", "r1"]  # macro AUC high first, then MAE low first
    html = (tmp_path / "lb.html").read_text()
    assert "<table" in html and "0.900 [0.850, 0.950]" in html and "Published DeepLense values (different data" in html
    assert "m2" in (tmp_path / "lb.csv").read_text()
    md = (tmp_path / "lb.md").read_text()
    first_cells = re.findall(r"^\| (\S+) +\|", md, re.M)
    assert first_cells[:5] == ["model", "m2", "m1", "r2", "r1"]  # the header, then the rows in rank order
    # only the published values on a preset and task of a row: Model III regression, not Model I classification
    assert "CoAtNet-nano" not in md and "ConViT" not in md and "| Model III " in md and "| Model I " not in md
    assert re.search(r"\d+ of the \d+ published DeepLense values match", md)
    # the regression rows on the HST-like preset get the published Model III range beside them
    assert table.loc[table["model"] == "r1", "published"].item() == "0.1262–0.2175 (4 models, mae)"


def test_leaderboard_page_shows_units_and_one_line_for_unmatched_published_values(tmp_path):
    """A mass MAE reads as a scaled value with its interval and unit; with no row on a published
    preset, the published values are one line, not a table of rows that match nothing."""
    from deeplense.report.leaderboard_html import HEADERS

    mass = write_metrics(tmp_path / "mass.json", {"mae": 6300273366.5942, "rmse": 8.1e9, "baseline_mae": 2.2e10, "target_units": {"m": "Msun"}},
                         model="mass", task="regression", ci={"mae": {"low": 4793075061.142, "high": 7912345678.9}})
    auc = write_metrics(tmp_path / "auc.json", {"auc_macro": 0.91, "accuracy": 0.8}, model="clf", ci={"auc_macro": {"low": 0.87, "high": 0.95}})
    table = write_leaderboard([mass, auc], tmp_path / "lb.csv", tmp_path / "lb.html", tmp_path / "lb.md", tmp_path / "pub.csv")
    html = (tmp_path / "lb.html").read_text()
    assert "6.30 [4.79, 7.91] × 10⁹ M☉" in html and "2.20 × 10¹⁰ M☉" in html and "0.910 [0.870, 0.950] M☉" not in html
    assert "6300273366" not in html
    assert "None of the" in html and "instrument presets here: custom" in html and 'id="published"' not in html
    assert "CoAtNet-nano" not in (tmp_path / "lb.md").read_text()
    assert len(published_rows := (tmp_path / "pub.csv").read_text().splitlines()) > 40, published_rows  # all kept in the CSV
    # the headline (model, task, metric, value) leads, before what identifies the run
    headers = [h for h in HEADERS if h in table.columns]
    assert headers[:4] == ["model", "task", "main_metric", "main_value"]
    assert 'class="wide"' in html  # a wide table scrolls in its own box


def test_landing_page_summaries_name_headline_values_with_units(tmp_path):
    """The fragments the report's landing page embeds: one row per evaluation with its headline
    value, interval and unit; one row per reproduced value beside the published one."""
    from deeplense.report.leaderboard import leaderboard
    from deeplense.report.summary import leaderboard_summary, reproduction_summary

    mass = write_metrics(tmp_path / "mass.json", {"mae": 6300273366.5942, "target_units": {"m": "Msun"}}, model="mass", task="regression",
                         ci={"mae": {"low": 4793075061.142, "high": 7912345678.9}})
    auc = write_metrics(tmp_path / "auc.json", {"auc_macro": 0.91}, model="clf", dataset="other", ci={"auc_macro": {"low": 0.87, "high": 0.95}})
    fragment = leaderboard_summary(leaderboard([mass, auc]))
    rows = re.findall(r"<tr>(.*?)</tr>", fragment)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in rows]
    assert cells[0] == ["model", "task", "data (test images)", "metric", "value [95% CI]"]
    assert ["clf", "classification", "d → other (10)", "macro AUC", "0.910 [0.870, 0.950]"] in cells
    assert ["mass", "regression", "d (10)", "MAE", "6.30 [4.79, 7.91] × 10⁹ M☉"] in cells
    assert "<html" not in fragment and "<style" not in fragment  # embedded in the report's page, it must not restyle it
    assert leaderboard_summary(leaderboard([])) == "<p>No model was evaluated.</p>"
    reproduced = pd.DataFrame([{"DeepLense dataset": "Model I", "metric": "auc_macro", "published": 0.9955, "published model": "CoAtNet-nano",
                                "ours": 0.912, "ci_low": 0.872, "ci_high": 0.946, "our model": "coatnet"}])
    assert re.findall(r"<td[^>]*>(.*?)</td>", reproduction_summary(reproduced)) == [
        "Model I", "macro AUC", "0.996 (CoAtNet-nano)", "0.912 [0.872, 0.946]", "coatnet"]


def test_published_values_match_by_preset_or_dataset_name():
    from deeplense.published import published_for

    assert {v.model for v in published_for("hst_wfc3", "anomaly")} == {"VAE", "AAE"}  # Model III
    assert {v.value for v in published_for("custom", "anomaly", "model_a")} == {0.932, 0.899, 0.730}  # configs/presets/autolens_model_a.yaml
    assert published_for("custom", "classification", "tiny") == []


def test_every_published_value_names_its_work():
    """The published-values table cites papers and repository folders a reader can open."""
    from deeplense.report.leaderboard import published_table
    from deeplense.published import PUBLISHED, REFERENCES

    assert {v.reference for v in PUBLISHED} <= set(REFERENCES)
    sources = published_table()["source"]
    assert sources.str.contains(r"https://(?:arxiv\.org|doi\.org|github\.com/ML4SCI/DeepLense)").all()
    assert sources.str.contains(r"\(\d{4}\)|\(GSoC").all()
    classification = published_table().query("dataset == 'Model A' and task == 'anomaly'")["source"]
    assert classification.str.contains("2008.12731").all()  # Alexander et al. 2021, unsupervised


def test_leaderboard_shows_the_checkpoint_epoch_counted_from_one(tmp_path):
    """The stored ``checkpoint_epoch`` counts from 0 (the history's ``epoch``); the tables a person
    reads count from 1, as the training curves' epoch axis does."""
    from deeplense.report.leaderboard import leaderboard
    from deeplense.report.leaderboard_html import display_cells

    path = write_metrics(tmp_path / "m.json", {"auc_macro": 0.8, "accuracy": 0.7, "auc_per_class": {"a": 0.8}}, checkpoint_epoch=4)
    table = leaderboard([path])
    assert table["checkpoint_epoch"].item() == 4  # the stored field keeps its meaning
    headers, rows = display_cells(table)
    assert rows[0][headers.index("checkpoint epoch")][0] == "5"
