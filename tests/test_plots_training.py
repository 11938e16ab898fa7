"""The training-curves figure numbers epochs from 1 and marks the kept checkpoint on the same
count, whereas the history and the stored ``checkpoint_epoch`` count from 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deeplense.plots.training import plot_training_curves
from tests.figures import legend_entries, saved_figures  # noqa: F401 (a fixture)


def test_epochs_and_the_checkpoint_are_counted_from_one(tmp_path, saved_figures):
    history = pd.DataFrame({"epoch": [0, 1, 2, 3], "train_loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [1.1, 0.9, 0.7, 0.8],
                            "val_auc": [0.6, 0.7, 0.8, 0.78]})
    history.to_csv(tmp_path / "history.csv", index=False)
    plot_training_curves(tmp_path / "history.csv", tmp_path / "curves.png", "m", metrics={"val_auc": ("AUC", True)}, checkpoint_epoch=2)
    fig = saved_figures["curves.png"]
    assert "checkpoint (epoch 3)" in legend_entries(fig)
    for ax in fig.axes:
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == len(history)]
        assert curves and all(np.array_equal(line.get_xdata(), [1, 2, 3, 4]) for line in curves)
        marks = [line for line in ax.get_lines() if line.get_label().startswith("checkpoint")]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [3, 3]  # the epoch of lowest validation loss
