"""Figure of anomaly detection: the anomaly-score distribution of every class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deeplense.plots.style import class_colours, figure, save


def plot_score_histograms(scores: np.ndarray, labels: np.ndarray, classes: list[str], normal_class: str, out: str | Path, title: str) -> None:
    """Histograms of the anomaly score per class on shared bins; the normal class filled."""
    fig, ax = figure(figsize=(7, 4.5))
    finite = scores[np.isfinite(scores)]
    bins = np.histogram_bin_edges(finite, bins=min(40, max(5, finite.size // 4))) if finite.size else 10
    colours = class_colours(list(classes))
    for i, name in enumerate(classes):
        values = scores[labels == i]
        if values.size == 0:
            continue
        normal = name == normal_class
        ax.hist(values, bins=bins, density=True, alpha=0.45 if normal else 1.0, histtype="stepfilled" if normal else "step", lw=2,
                color=colours[name], label=f"{name}{' (normal)' if normal else ''}, n={values.size}")
    ax.set(xlabel="anomaly score (model units; larger = more anomalous)", ylabel="density [1 / score unit]", title=title)
    ax.legend(fontsize=9)
    save(fig, out)
