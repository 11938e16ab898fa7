"""Per-epoch training figures: a CSV a person can read (and the report plots) and TensorBoard
event files for live curves (`tensorboard --logdir results/models`)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from deeplense.atomic import atomic_path

FIRST_FIELDS = ("epoch", "train_loss", "val_loss")
LAST_FIELDS = ("lr", "seconds", "data_wait_fraction")


def write_history(rows: list[dict[str, Any]], path: str | Path) -> None:
    """All epochs so far as CSV: epoch, losses, the task's validation metrics, lr, timing."""
    middle = sorted({k for row in rows for k in row} - set(FIRST_FIELDS) - set(LAST_FIELDS))
    fields = [*FIRST_FIELDS, *middle, *LAST_FIELDS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


class TensorBoardLog:
    """Scalars of each epoch under ``log_dir``; a resumed run continues the same curves."""

    def __init__(self, log_dir: str | Path, first_epoch: int = 0) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when training

        self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=first_epoch)

    def log(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, global_step=row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
