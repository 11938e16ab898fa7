"""Regression metrics per target (scikit-learn): MAE, RMSE, R², bias, beside the constant
predictor that always answers the training-split mean; and, when the model predicts a Gaussian
uncertainty, its coverage, negative log-likelihood and calibration curve."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from deeplense.metrics.bootstrap import bootstrap_ci

# Central probabilities of the calibration curve; 0.683 and 0.954 are the 1σ and 2σ intervals.
CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.683, 0.8, 0.9, 0.954, 0.99)


def point_metrics(truth: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE, R² and bias (mean of prediction − truth) of one target; R² is ``None`` for
    fewer than two samples or a constant truth (undefined)."""
    if truth.size == 0:
        return {"mae": None, "rmse": None, "r2": None, "bias": None}
    defined = truth.size > 1 and np.ptp(truth) > 0
    return {
        "mae": float(mean_absolute_error(truth, pred)),
        "rmse": float(root_mean_squared_error(truth, pred)),
        "r2": float(r2_score(truth, pred)) if defined else None,
        "bias": float(np.mean(pred - truth)),
    }


def uncertainty_metrics(truth: np.ndarray, pred: np.ndarray, sigma: np.ndarray) -> dict[str, Any]:
    """Coverage of the 1σ and 2σ intervals, mean Gaussian negative log-likelihood (nats) and the
    calibration curve: for each central probability p, the fraction of samples whose error lies
    within the model's p-interval (perfect calibration: observed = expected)."""
    z = np.abs(pred - truth) / sigma
    nll = 0.5 * np.log(2 * np.pi * sigma**2) + 0.5 * z**2
    expected = np.asarray(CALIBRATION_LEVELS)
    half_widths = norm.ppf(0.5 + expected / 2)
    return {
        "coverage_1sigma": float(np.mean(z <= 1.0)),
        "coverage_2sigma": float(np.mean(z <= 2.0)),
        "nll": float(np.mean(nll)),
        "mean_sigma": float(np.mean(sigma)),
        "calibration": {"expected": expected.tolist(), "observed": [float(np.mean(z <= w)) for w in half_widths]},
    }


def _mean_defined(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def regression_metrics(
    truth: np.ndarray,
    pred: np.ndarray,
    target_names: list[str],
    train_mean: np.ndarray,
    sigma: np.ndarray | None = None,
    *,
    n_resamples: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of predictions ``pred`` (n, t) against ``truth`` (n, t), per target and averaged
    over targets (top-level ``mae``, ``rmse``, ``r2``, ``bias``), with the constant predictor's
    (``train_mean``, the training-split mean) on the same samples under ``baseline``.

    With ``sigma`` (n, t), each target also gets ``uncertainty`` (see ``uncertainty_metrics``);
    with ``n_resamples`` > 0, ``ci`` holds bootstrap intervals of MAE, RMSE and R².
    """
    truth = np.asarray(truth, dtype=float).reshape(len(truth), -1)
    pred = np.asarray(pred, dtype=float).reshape(truth.shape)
    train_mean = np.broadcast_to(np.asarray(train_mean, dtype=float), (truth.shape[1],))
    if truth.shape[1] != len(target_names):
        raise ValueError(f"truth has {truth.shape[1]} targets, expected {len(target_names)} ({', '.join(target_names)})")
    per_target: dict[str, Any] = {}
    for j, name in enumerate(target_names):
        entry: dict[str, Any] = point_metrics(truth[:, j], pred[:, j])
        entry["baseline"] = point_metrics(truth[:, j], np.full(truth.shape[0], train_mean[j]))
        entry["baseline"]["prediction"] = float(train_mean[j])
        if sigma is not None:
            entry["uncertainty"] = uncertainty_metrics(truth[:, j], pred[:, j], np.asarray(sigma, dtype=float)[:, j])
        per_target[name] = entry
    out: dict[str, Any] = {"n_test": int(truth.shape[0]), "targets": per_target}
    for key in ("mae", "rmse", "r2", "bias"):
        out[key] = _mean_defined([t[key] for t in per_target.values()])
        out[f"baseline_{key}"] = _mean_defined([t["baseline"][key] for t in per_target.values()])
    if n_resamples:

        def resampled(idx: np.ndarray) -> dict[str, float | None]:
            values: dict[str, float | None] = {}
            per = [point_metrics(truth[idx, j], pred[idx, j]) for j in range(len(target_names))]
            for key in ("mae", "rmse", "r2"):
                values[key] = _mean_defined([p[key] for p in per])
                values.update({f"targets.{n}.{key}": p[key] for n, p in zip(target_names, per)})
            return values

        out["ci"] = bootstrap_ci(resampled, truth.shape[0], n_resamples=n_resamples, seed=seed)
    return out
