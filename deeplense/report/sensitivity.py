"""Sensitivity of a metric to a swept physics parameter: one line per model across the grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deeplense.plots.style import figure, save
from deeplense.atomic import atomic_path
from deeplense.storage.provenance import MetricsFile


def metric_value(metrics: dict[str, Any], path: str) -> float:
    """A metric by dotted path, e.g. ``auc_per_class.vortex``; NaN where undefined."""
    node: Any = metrics
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"metric {path!r} not in metrics.json (top-level keys: {', '.join(sorted(metrics))})")
        node = node[key]
    return float("nan") if node is None else float(node)


def sensitivity_table(points: list[dict[str, Any]], metrics_files: list[str | Path], metric: str) -> pd.DataFrame:
    """Rows (value, base model, metric) for the sweep's points, matched to metrics by model name."""
    by_model = {m.model: m.values for m in map(MetricsFile.read, metrics_files)}
    rows = []
    for p in points:
        value = p["value"]
        rows.append(
            {
                "value": value if isinstance(value, (int, float)) else json.dumps(value, sort_keys=True),
                "model": p["base_model"],
                "dataset": p["dataset"],
                metric: metric_value(by_model[p["model"]], metric),
            }
        )
    return pd.DataFrame(rows)


def plot_sensitivity(
    table: pd.DataFrame, metric: str, parameter: str, sweep: str, out_png: str | Path, out_csv: str | Path,
    shared: list[str] | None = None, resimulated: list[str] | None = None,
) -> None:
    """Metric against the parameter; log x-axis when the grid spans more than a decade. ``shared``
    and ``resimulated``: the classes that are the same images at every point and those simulated
    anew at each, said under the plot (a reader needs to know what was held fixed)."""
    numeric = pd.api.types.is_numeric_dtype(table["value"])
    fig, ax = figure(figsize=(6.5, 4.5))
    for model, rows in table.groupby("model", sort=False):
        x = rows["value"] if numeric else np.arange(len(rows))
        ax.plot(x, rows[metric], marker="o", lw=2, label=model)
    if numeric:
        values = table["value"].to_numpy(dtype=float)
        if (values > 0).all() and values.max() / values.min() > 10:
            ax.set_xscale("log")
    else:
        labels = table.drop_duplicates("value")["value"]
        ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    ax.set(xlabel=parameter, ylabel=f"{metric} (test split)", title=f"sweep {sweep}: {metric} against {parameter}")
    ax.legend()
    if shared is not None or resimulated is not None:
        note = f"same images at every point: {', '.join(shared or []) or 'none'}; simulated anew at each: {', '.join(resimulated or []) or 'none'}"
        fig.subplots_adjust(bottom=0.2)
        fig.text(0.01, 0.01, note, fontsize=7, ha="left", va="bottom", wrap=True)
    save(fig, out_png)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
