"""Training variance: a model trained with ``seeds: N`` has N runs on the same test split (the model
itself and its repeats, deeplense.workflow.plan.REPEAT_DIR). The leaderboard gives its headline
metric's mean ± std over them beside the first run's bootstrap interval, which measures only the
test images' sampling, never how much the result moves with the training run. The std is the
sample standard deviation (ddof=1)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deeplense.errors import DeeplenseError
from deeplense.storage.provenance import MetricsFile
from deeplense.tasks import TASKS

SEED_COLUMNS = ("seeds", "seed_mean", "seed_std")


@dataclass(frozen=True)
class SeedSpread:
    """A metric over training seeds: how many runs, their mean and sample std (ddof=1)."""

    n: int
    mean: float
    std: float

    def columns(self) -> dict[str, Any]:
        return {"seeds": self.n, "seed_mean": self.mean, "seed_std": self.std}


def seed_spread(values: Sequence[float]) -> SeedSpread:
    """Mean and sample standard deviation (ddof=1) of one metric over two or more training seeds."""
    if len(values) < 2:
        raise ValueError(f"a spread over seeds needs at least 2 runs, got {len(values)}")
    return SeedSpread(len(values), statistics.fmean(values), statistics.stdev(values))


def headline_value(metrics: MetricsFile) -> float | None:
    """The task's ranking metric (the leaderboard's ``main_value``) of one evaluation."""
    key = TASKS.get(metrics.task).leaderboard[0].key
    value = metrics.values.get(key)
    return None if value is None else float(value)


def repeat_values(files: Sequence[str | Path]) -> dict[tuple[str, str], list[tuple[MetricsFile, str]]]:
    """(model, evaluation dataset) → each repeat's metrics (with its file), from the repeats' metrics.json."""
    out: dict[tuple[str, str], list[tuple[MetricsFile, str]]] = {}
    for path in files:
        m = MetricsFile.read(path)
        out.setdefault((m.model, m.dataset), []).append((m, str(path)))
    return out


def add_seed_columns(rows: list[dict[str, Any]], first: Sequence[MetricsFile], repeat_files: Sequence[str | Path]) -> None:
    """Give each leaderboard row (from the metrics ``first``, in the same order) whose model has
    repeats among ``repeat_files`` the columns ``seeds``, ``seed_mean`` and ``seed_std`` of its
    headline metric over the model itself and its repeats. A repeat evaluated on another number of
    test images, or of a model with no row, is refused: the spread is over one test split."""
    repeats = repeat_values(repeat_files)
    rows_by_key = {(m.model, m.dataset): (row, m) for row, m in zip(rows, first)}
    for key, runs in repeats.items():
        if key not in rows_by_key:
            raise DeeplenseError(f"{runs[0][1]}: a training repeat of model {key[0]} on {key[1]}, whose own metrics were not given")
        row, base = rows_by_key[key]
        for m, path in runs:
            if m.n_test != base.n_test or m.task != base.task:
                raise DeeplenseError(
                    f"{path}: a repeat of {key[0]} evaluated on {m.n_test} test images ({m.task}); the model itself on "
                    f"{base.n_test} ({base.task}): a spread over seeds needs the same test split"
                )
        values = [headline_value(m) for m in (base, *(r for r, _ in runs))]
        if any(v is None for v in values):
            continue
        row.update(seed_spread([v for v in values if v is not None]).columns())
