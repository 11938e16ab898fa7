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

from deeplense.config import ModelConfig
from deeplense.search.config import CategoricalParam, FloatParam, IntParam, ParamSpec, SearchConfig, apply
from deeplense.training.checkpoints import load_checkpoint
from deeplense.training.trainer import TrainOutputs, train_model

SETTINGS_ATTR = "settings"  # the model settings a trial sampled (field or architecture_args.KEY → value)
INFERENCE_BATCH = 32


def sample_settings(trial: optuna.Trial, space: dict[str, ParamSpec], prefix: str = "") -> dict[str, Any]:
    """The model settings of ``trial``, drawn from ``space``: a choice's sub-space is sampled
    only when that choice is, under the parameter name ``<field>=<choice>/<sub-field>``."""
    out: dict[str, Any] = {}
    for field, spec in space.items():
        name = prefix + field
        if isinstance(spec, FloatParam):
            out[field] = trial.suggest_float(name, spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            out[field] = trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
        else:
            assert isinstance(spec, CategoricalParam)
            choice = trial.suggest_categorical(name, spec.values())
            out[field] = choice
            out.update(sample_settings(trial, spec.subspace(choice), f"{name}={choice}/"))
    return out


def trial_model(base: dict[str, Any], settings: dict[str, Any], objective: str, epochs: int | None = None) -> ModelConfig:
    """The model config of a trial (``epochs``: the trial's) or of the best trial's final model:
    the base with the sampled settings, its checkpoint selected on the search's objective."""
    config = {**apply(base, settings), "monitor": objective}
    if epochs is not None:
        config["epochs"] = epochs
    return ModelConfig.model_validate(config)


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
    """The trained network's parameter count, or its measured inference seconds per image (median
    of 5 batches of 32 on the training device's CPU threads; not reproducible bit for bit)."""
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
