"""One trial of a search: sample settings from the space, train the base model with them through
deeplense's trainer for ``trial_epochs``, report the validation metric to the pruner after every
epoch, and score the trial (the best epoch's metric; the parameter count or inference time as a
second objective)."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from deeplense.search.config import SearchConfig
from deeplense.search.space import SETTINGS_ATTR, sample_settings, trial_model
from deeplense.training.checkpoints import load_checkpoint
from deeplense.training.trainer import TrainOutputs, train_model

INFERENCE_BATCH = 32


@dataclass(frozen=True)
class TrialJob:
    """What every trial of a search shares: the base model, the data, the seed and split."""

    search: SearchConfig
    base: dict[str, Any]  # the base model's config (ModelConfig, as JSON)
    objective: str
    maximise: bool
    store: str
    seed: int
    split: dict[str, float]
    scratch: Path  # trials train under a temporary folder here

    def epochs(self, settings: dict[str, Any]) -> int:
        """A trial's epochs: ``trial_epochs``, or the (sampled or base) model's."""
        return self.search.trial_epochs or int(settings.get("epochs", self.base["epochs"]))


def run_trial(trial: optuna.Trial, job: TrialJob) -> list[float]:
    """Train ``trial``'s model and return its objective value(s); raises ``optuna.TrialPruned``
    when the pruner stops it after an epoch."""
    settings = sample_settings(trial, job.search.space)
    trial.set_user_attr(SETTINGS_ATTR, settings)
    cfg = trial_model(job.base, settings, job.objective, job.epochs(settings))
    values: list[float] = []
    single = job.search.n_objectives == 1

    def epoch_end(epoch: int, row: dict[str, Any]) -> None:
        value = row.get(job.objective)
        if value is None or not math.isfinite(value):
            return
        values.append(float(value))
        if single:
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}: {job.objective} {value:.4g}")

    job.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"trial{trial.number}_", dir=job.scratch) as tmp:
        outputs = TrainOutputs.in_dir(tmp)
        outputs = TrainOutputs(outputs.checkpoint, outputs.history, outputs.info)  # no TensorBoard events
        train_model(f"trial{trial.number}", cfg, job.store, outputs, seed=job.seed, split=job.split, epoch_end=epoch_end)
        if not values:
            raise ValueError(f"no epoch gave a finite {job.objective}")
        best = max(values) if job.maximise else min(values)
        if single:
            return [best]
        return [best, second_objective(job.search.second_objective, outputs.checkpoint)]


def second_objective(kind: str | None, checkpoint: Path) -> float:
    """The trained network's parameter count, or its measured inference seconds per image: the
    median of 5 batches of 32 on the CPU, on the model's torch threads (a measurement: it does not
    repeat bit for bit)."""
    model, info = load_checkpoint(checkpoint)
    if kind == "params":
        return float(sum(p.numel() for p in model.parameters()))
    batch = torch.zeros(INFERENCE_BATCH, info.in_chans, info.img_size, info.img_size)
    times = []
    with torch.no_grad():
        model(batch)  # warm-up
        for _ in range(5):
            start = time.perf_counter()
            model(batch)
            times.append((time.perf_counter() - start) / INFERENCE_BATCH)
    return sorted(times)[len(times) // 2]
