"""Figures of regression: predicted against true, residual against true, and the calibration of
predicted uncertainties. One panel per target, in the target's physical units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deeplense.plots.style import OKABE_ITO, figure, save


def _label(name: str, units: dict[str, str]) -> str:
    unit = units.get(name, "")
    return f"{name} [{unit}]" if unit and unit != "1" else name


def plot_pred_vs_true(
    truth: np.ndarray, pred: np.ndarray, names: list[str], units: dict[str, str], metrics: dict[str, Any], out: str | Path, title: str,
    sigma: np.ndarray | None = None,
) -> None:
    """Predicted against true value per target, with the identity line, the constant
    (training-mean) predictor, and 1σ error bars when the model predicts them."""
    fig, axes = figure(1, len(names), figsize=(5.2 * len(names), 5), squeeze=False, layout="constrained")
    for j, (ax, name) in enumerate(zip(axes[0], names)):
        m = metrics["targets"][name]
        lo, hi = np.nanmin([truth[:, j].min(), pred[:, j].min()]), np.nanmax([truth[:, j].max(), pred[:, j].max()])
        yerr = None if sigma is None else sigma[:, j]
        ax.errorbar(truth[:, j], pred[:, j], yerr=yerr, fmt="o", ms=4, alpha=0.7, color=OKABE_ITO[0], ecolor="#999999", label="test images")
        ax.plot([lo, hi], [lo, hi], ls="--", color="black", lw=1, label="prediction = truth")
        ax.axhline(m["baseline"]["prediction"], color=OKABE_ITO[1], lw=1.5, label="constant predictor (training mean)")
        r2 = "–" if m["r2"] is None else f"{m['r2']:.3f}"
        ax.set(xlabel=f"true {_label(name, units)}", ylabel=f"predicted {_label(name, units)}", title=f"MAE {m['mae']:.3g}, R² {r2} (baseline MAE {m['baseline']['mae']:.3g})")
        pad = 0.05 * (hi - lo) or 0.1 * max(abs(hi), 1e-3)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)  # same range on both axes: the identity is the diagonal
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    save(fig, out)


def plot_residuals(truth: np.ndarray, pred: np.ndarray, names: list[str], units: dict[str, str], out: str | Path, title: str) -> None:
    """Residual (predicted − true) against the true value per target, with the mean residual (bias)."""
    fig, axes = figure(1, len(names), figsize=(5.2 * len(names), 4.2), squeeze=False, layout="constrained")
    for j, (ax, name) in enumerate(zip(axes[0], names)):
        residual = pred[:, j] - truth[:, j]
        ax.scatter(truth[:, j], residual, s=16, alpha=0.7, color=OKABE_ITO[0])
        ax.axhline(0, color="black", lw=1, ls="--")
        ax.axhline(residual.mean(), color=OKABE_ITO[3], lw=1.5, label=f"bias {residual.mean():.3g}")
        ax.set(xlabel=f"true {_label(name, units)}", ylabel=f"predicted − true {_label(name, units)}")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save(fig, out)


def plot_calibration(metrics: dict[str, Any], names: list[str], out: str | Path, title: str) -> None:
    """Observed against expected coverage of the predicted Gaussian intervals, per target."""
    fig, ax = figure(figsize=(5.5, 5))
    for name in names:
        u = metrics["targets"][name]["uncertainty"]
        ax.plot(u["calibration"]["expected"], u["calibration"]["observed"], marker="o", lw=2, label=f"{name} (NLL {u['nll']:.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    ax.set(xlabel="expected coverage (central probability)", ylabel="observed coverage (fraction of test images)", xlim=(0, 1), ylim=(0, 1.01), title=title)
    ax.legend(fontsize=8, loc="upper left")
    save(fig, out)
