"""A learning curve: a model's test metric, with its 95% interval, against the training images
per class it learnt from (one point per model of the curve)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deeplense.report.sensitivity import metric_value
from deeplense.plots.style import figure, save
from deeplense.atomic import atomic_path
from deeplense.storage.provenance import MetricsFile, TrainInfo


def learning_curve_table(metrics_files: list[str | Path], info_files: list[str | Path], metric: str) -> pd.DataFrame:
    """One row per model: training images per class (of the smallest class it trains on), the metric
    and its interval."""
    rows = []
    for metrics_path, info_path in zip(metrics_files, info_files):
        metrics, info = MetricsFile.read(metrics_path), TrainInfo.read(info_path)
        interval = metrics.ci[metric] if metric in metrics.ci else None
        rows.append(
            {
                "model": metrics.model,
                "train_images_per_class": info.smallest_train_class(),  # anomaly: the normal class
                "n_test": metrics.n_test,
                metric: metric_value(metrics.values, metric),
                "ci_low": np.nan if interval is None or interval.low is None else interval.low,
                "ci_high": np.nan if interval is None or interval.high is None else interval.high,
            }
        )
    return pd.DataFrame(rows).sort_values("train_images_per_class").reset_index(drop=True)


def plot_learning_curve(table: pd.DataFrame, metric: str, title: str, out_png: str | Path, out_csv: str | Path) -> None:
    """The metric against training images per class (log axis), 95% intervals as error bars."""
    fig, ax = figure(figsize=(6.5, 4.5))
    y = table[metric].to_numpy(dtype=float)
    low = np.clip(y - table["ci_low"].to_numpy(dtype=float), 0, None)
    high = np.clip(table["ci_high"].to_numpy(dtype=float) - y, 0, None)
    ax.errorbar(table["train_images_per_class"], y, yerr=np.nan_to_num([low, high]), marker="o", lw=2, capsize=4, label=f"{metric}, 95% interval")
    ax.set_xscale("log")
    ax.set(xlabel="training images per class", ylabel=f"{metric} (test split, n={int(table['n_test'].iloc[-1])})", title=title)
    ax.legend()
    save(fig, out_png)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
