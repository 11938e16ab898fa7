"""Figure of a training run: loss and the task's monitored validation figures against epoch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deeplense.plots.style import figure, save


def plot_training_curves(
    history_csv: str | Path, out: str | Path, title: str, loss_name: str = "loss", metrics: dict[str, tuple[str, bool]] | None = None,
    checkpoint_epoch: int | None = None,
) -> None:
    """Loss (train and validation) and the task's validation ``metrics`` against epoch: history
    column → (label, whether it is a fraction, drawn on [0, 1]); those the history lacks are left out.
    Epochs are shown counted from 1 (the history's ``epoch`` counts from 0), and so is the kept
    ``checkpoint_epoch`` (stored counted from 0), marked on every panel."""
    h = pd.read_csv(history_csv)
    shown = {c: how for c, how in (metrics or {}).items() if c in h}
    fig, axes = figure(1, 1 + len(shown), figsize=(5 * (1 + len(shown)), 4), squeeze=False, layout="constrained")
    ax_loss = axes[0][0]
    ax_loss.plot(h["epoch"] + 1, h["train_loss"], marker="o", label="train")
    ax_loss.plot(h["epoch"] + 1, h["val_loss"], marker="s", label="validation")
    ax_loss.set(xlabel="epoch", ylabel=loss_name, title="loss")
    ax_loss.legend()
    for ax, (column, (label, fraction)) in zip(axes[0][1:], shown.items()):
        ax.plot(h["epoch"] + 1, h[column], marker="s", color="#009E73")
        ax.set(xlabel="epoch", ylabel=label, title=label)
        if fraction:
            ax.set_ylim(0, 1.02)
    if checkpoint_epoch is not None:
        for ax in axes[0]:
            ax.axvline(checkpoint_epoch + 1, color="0.4", ls=":", lw=1.5, label=f"checkpoint (epoch {checkpoint_epoch + 1})")
        ax_loss.legend()
    fig.suptitle(title)
    save(fig, out)
