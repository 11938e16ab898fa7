"""Figures of classification: ROC curves (also of anomaly scores) and confusion matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deeplense.plots.style import class_colours, figure, save


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], aucs: dict[str, float | None], out: str | Path, title: str) -> None:
    """One ROC curve per class (one-vs-rest, or anomalous class against normal) with its AUC."""
    fig, ax = figure(figsize=(5.5, 5))
    colours = class_colours(list(curves))
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, lw=2, color=colours[name], label=f"{name} (AUC {aucs[name]:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.01), title=title)
    ax.legend(loc="lower right", fontsize=9)
    save(fig, out)


def plot_confusion(matrix: list[list[int]], classes: list[str], out: str | Path, title: str) -> None:
    """Confusion matrix, counts and row-normalised fractions side by side."""
    counts = np.asarray(matrix)
    norm = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    # under 1,000 px wide: the Snakemake report shows a figure at its own size beside its menus
    fig, axes = figure(1, 2, figsize=(8.8, 4.2), layout="constrained")
    for ax, values, fmt, label in ((axes[0], counts, "d", "counts [images]"), (axes[1], norm, ".2f", "fraction of true class")):
        im = ax.imshow(values, cmap="Blues", vmin=0)
        ax.grid(False)
        ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set(xlabel="predicted class", ylabel="true class", title=label)
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, format(v, fmt), ha="center", va="center", color="white" if v > values.max() / 2 else "black",
                    fontsize=10 if len(classes) <= 4 else 8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(title)
    save(fig, out)
