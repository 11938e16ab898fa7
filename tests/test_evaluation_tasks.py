"""Evaluation of every task on a real store: regression from a trained checkpoint (with predicted
uncertainties), anomaly scores through the prediction path, and cross-dataset provenance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from deeplense.config import ModelConfig
from deeplense.data.splits import dataset_splits
from deeplense.evaluation.evaluate import EvalOutputs, evaluate_model
from deeplense.evaluation.predict import predict
from deeplense.storage.dataset_store import open_dataset
from deeplense.tasks import Anomaly, EvalContext, Predictions, Regression
from deeplense.training.trainer import TrainOutputs, train_model
from tests.figures import axis_labels, legend_entries, saved_figures  # noqa: F401 (a fixture)

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}


def test_regression_checkpoint_evaluates_with_uncertainty(small_store, tmp_path, saved_figures):
    cfg = ModelConfig(architecture="resnet18", dataset="small", task="regression", targets=["source_center_x"], loss="gaussian_nll",
                      epochs=1, batch_size=8, shuffle_buffer_mb=1)
    out = train_model("reg", cfg, small_store, TrainOutputs.in_dir(tmp_path / "train"), seed=2, split=SPLIT)
    m = evaluate_model("reg", out.checkpoint, small_store, EvalOutputs.in_dir(tmp_path / "eval"), split=SPLIT, n_resamples=200)
    t = m.values["targets"]["source_center_x"]
    assert m.task == "regression" and m.n_test == 9 and m.values["mae"] == t["mae"] > 0
    assert t["baseline"]["mae"] > 0 and 0 <= t["uncertainty"]["coverage_1sigma"] <= t["uncertainty"]["coverage_2sigma"] <= 1
    assert m.ci["mae"].low <= m.values["mae"] <= m.ci["mae"].high
    assert m.values["target_units"] == {"source_center_x": "arcsec"}
    prov = m.provenance
    assert prov.config_hash.startswith("sha256:") and prov.seed == 2 and prov.train_dataset == "small"
    assert prov.dataset_hash == open_dataset(small_store).attrs["content_hash"] == prov.train_dataset_hash
    pred_vs_true = saved_figures["pred_vs_true.png"]
    assert axis_labels(pred_vs_true) == [("true source_center_x [arcsec]", "predicted source_center_x [arcsec]")]
    assert legend_entries(pred_vs_true) == ["prediction = truth", "constant predictor (training mean)", "test images"]
    (points,) = [c for c in pred_vs_true.axes[0].containers]  # the error bars: one point per test image
    assert len(points.lines[0].get_xdata()) == 9
    assert axis_labels(saved_figures["residuals.png"]) == [("true source_center_x [arcsec]", "predicted − true source_center_x [arcsec]")]
    nll = t["uncertainty"]["nll"]
    assert legend_entries(saved_figures["calibration.png"]) == [f"source_center_x (NLL {nll:.2f})", "perfectly calibrated"]
    table = pd.read_csv(tmp_path / "eval/predictions.csv")
    assert {"true_source_center_x", "pred_source_center_x", "sigma_source_center_x"} <= set(table.columns) and len(table) == 9
    # the baseline is the training split's mean: recompute it from the store
    ds = open_dataset(small_store)
    train = dataset_splits(ds, SPLIT)["train"]
    assert t["baseline"]["prediction"] == pytest.approx(ds["source_center_x"].values[train].mean())
    assert json.loads((tmp_path / "eval/metrics.json").read_text())["mae"] == m.values["mae"]


class _BrightnessScore(torch.nn.Module):
    """A stand-in autoencoder: its anomaly score is an image's total brightness."""

    def objective(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean()

    def anomaly_score(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).sum(dim=1)


def test_anomaly_scores_from_a_store(small_store, tmp_path, saved_figures):
    ds = open_dataset(small_store)
    task = Anomaly(list(ds.attrs["classes"]), normal_class="no_sub")
    test = task.eval_indices(ds, dataset_splits(ds, SPLIT)["test"])
    preds = predict(_BrightnessScore(), task, {"mean": [0.0], "std": [1.0]}, small_store, test)
    ctx = EvalContext("brightness score", tmp_path, {}, n_resamples=100, seed=0)
    metrics, table = task.evaluate(preds, ctx)
    assert set(metrics["auc_per_class"]) == {"cdm", "vortex"} and 0 <= metrics["auc"] <= 1
    assert metrics["class_counts"]["no_sub"] == int((preds.labels == 0).sum()) > 0
    counts = metrics["class_counts"]
    assert legend_entries(saved_figures["scores.png"]) == [f"no_sub (normal), n={counts['no_sub']}", f"cdm, n={counts['cdm']}", f"vortex, n={counts['vortex']}"]
    aucs = metrics["auc_per_class"]
    assert legend_entries(saved_figures["roc.png"]) == [f"cdm (AUC {aucs['cdm']:.3f})", f"vortex (AUC {aucs['vortex']:.3f})", "chance"]
    assert list(table.columns) == ["sample", "class", "anomalous", "score"] and table["anomalous"].sum() == (preds.labels != 0).sum()


def test_regression_figures_without_uncertainty(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(30, 2))
    task = Regression(["a"], target_names=["log10_m_axion", "theta_E"], mean=[0.0, 0.0], std=[1.0, 1.0])
    preds = Predictions(np.arange(30), np.zeros(30, dtype=int), truth, {"y_pred": truth + 0.1})
    metrics, _ = task.evaluate(preds, EvalContext("synthetic", tmp_path, {"theta_E": "arcsec"}, 0, 0))
    assert metrics["bias"] == pytest.approx(0.1) and "ci" not in metrics
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred_vs_true.png", "residuals.png"]


def test_cross_dataset_evaluation_on_another_instrument(small_cfg, small_store, tmp_path):
    """Domain shift: a classifier trained on one store, evaluated on a store of another instrument
    (wider PSF, more background noise) with the same classes; provenance names both datasets."""
    from deeplense.experiment import load_config
    from tests.conftest import build_store

    raw = small_cfg.model_dump(mode="json")
    raw["datasets"] = {"blurred": raw["datasets"]["small"]}
    raw["datasets"]["blurred"]["instrument"].update(psf_fwhm=0.5, background_rms=0.05)
    other, _ = build_store(load_config(raw), tmp_path / "blurred", dataset="blurred")
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=8, shuffle_buffer_mb=1, evaluate_on=["blurred"])
    out = train_model("shift", cfg, small_store, TrainOutputs.in_dir(tmp_path / "train"), seed=2, split=SPLIT)
    home = evaluate_model("shift", out.checkpoint, small_store, EvalOutputs.in_dir(tmp_path / "home"), split=SPLIT, n_resamples=50)
    away = evaluate_model("shift", out.checkpoint, other, EvalOutputs.in_dir(tmp_path / "away"), split=SPLIT, n_resamples=50)
    assert away.provenance.dataset == "blurred" and away.provenance.train_dataset == "small"
    assert away.provenance.dataset_hash == open_dataset(other).attrs["content_hash"] != away.provenance.train_dataset_hash
    assert away.provenance.config_hash == home.provenance.config_hash
    assert away.n_test == home.n_test == 9 and away.values["accuracy"] is not None
    # the images differ, so do the predictions
    p_home = pd.read_csv(tmp_path / "home/predictions.csv").filter(like="p_").values
    p_away = pd.read_csv(tmp_path / "away/predictions.csv").filter(like="p_").values
    assert not np.allclose(p_home, p_away)


def _fit_gaussian_from_runaway_variance(task: Regression, steps: int = 300) -> tuple[float, float]:
    """Fit free (mean, raw variance) outputs to standardised targets with the task's Gaussian NLL,
    starting where a bad early step can leave a network: the raw variance output at 30, the mean
    5 target stds off."""
    targets = torch.linspace(-1.5, 1.5, 64)[:, None]
    mean = torch.full((64, 1), 5.0, requires_grad=True)
    raw = torch.full((64, 1), 30.0, requires_grad=True)
    opt = torch.optim.Adam([mean, raw], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        task.loss_from_outputs(torch.cat([mean, raw], dim=1), targets).backward()
        opt.step()
    sigma = task.predictions_from_outputs(torch.cat([mean, raw], dim=1))["y_sigma"]
    return float((mean.detach() - targets).abs().mean()), float(np.median(sigma))


def test_gaussian_nll_recovers_from_a_runaway_variance():
    """A softplus variance has a gradient however large the output: the mean is learnt and σ comes
    back down. The log-variance clamped to [-12, 12] of deeplense ≤ 0.9.0 (kept to read its
    checkpoints) has none past the clamp: σ stays at e⁶ ≈ 403 target stds, the collapse a
    gaussian_nll regressor showed on an uninformative dataset (Adam still moves the free mean here;
    in a network whose features are shared, a mean gradient divided by σ² ≈ 1.6 × 10⁵ is lost)."""
    new = Regression(["a"], target_names=["x"], loss="gaussian_nll", mean=[0.0], std=[1.0], variance="softplus")
    mae, sigma = _fit_gaussian_from_runaway_variance(new)
    assert mae < 0.05 and sigma < 0.2
    legacy = Regression(["a"], target_names=["x"], loss="gaussian_nll", mean=[0.0], std=[1.0])
    assert legacy.variance == "clamp12"  # a checkpoint's state without the entry
    _, sigma_legacy = _fit_gaussian_from_runaway_variance(legacy)
    assert sigma_legacy > 400
    assert new.state()["variance"] == "softplus"
    with pytest.raises(ValueError, match="variance 'exp' unknown; allowed: softplus, clamp12"):
        Regression(["a"], target_names=["x"], loss="gaussian_nll", variance="exp")
