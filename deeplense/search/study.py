"""The Optuna study of a search: its storage (a journal file every worker on one machine or a shared
filesystem appends to, or an RDB for several nodes), its seeded sampler and pruner, and the
clean-up of trials a killed worker left RUNNING.

Optuna's journal storage has no heartbeat, so a RUNNING trial of a dead worker would stay RUNNING
for ever. Each trial records the worker slot that runs it (``worker`` user attribute); the
workflow runs at most one job per slot at a time, so when slot i starts, any trial still RUNNING
under slot i belongs to a killed run of it and is marked FAILED before the slot goes on.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from deeplense.errors import DeeplenseError
from deeplense.search.config import SearchConfig, flat_space
from deeplense.seeds import name_key
from deeplense.tasks import TASKS

WORKER_ATTR = "worker"
ERROR_ATTR = "error"  # why a trial failed
# A trial counts towards n_trials once it is done (whatever its outcome) or being run.
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)


def open_storage(search: SearchConfig, journal: str | Path) -> optuna.storages.BaseStorage:
    """The search's RDB (``storage`` URL), or the journal file ``journal`` (created with its folder)."""
    if search.storage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(search.storage, heartbeat_interval=60, grace_period=180)
    Path(journal).parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(str(journal))
    return optuna.storages.JournalStorage(backend)


def sampler_seed(search: SearchConfig, name: str, worker: int) -> int:
    """The sampler's seed of ``worker``: from (search seed, search name, worker), so workers draw
    different trials and one worker draws the same trials in every run."""
    return int(np.random.SeedSequence([search.seed, name_key(name), worker]).generate_state(1)[0])


def make_sampler(search: SearchConfig, name: str, worker: int) -> optuna.samplers.BaseSampler:
    """The configured sampler, seeded for ``worker``."""
    seed = sampler_seed(search, name, worker)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if search.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
        if search.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed)
        if search.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if search.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
    grid = {name: spec.values() for name, spec in flat_space(search.space)}
    return optuna.samplers.GridSampler(grid, seed=seed)


def make_pruner(search: SearchConfig) -> optuna.pruners.BasePruner:
    """Median or Hyperband pruning on the per-epoch validation metric, or none."""
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=search.trial_epochs or "auto")
    return optuna.pruners.NopPruner()


def directions(search: SearchConfig, maximise: bool) -> list[str]:
    """The objective's direction (from the task), then the second objective's (minimised)."""
    first = "maximize" if maximise else "minimize"
    return [first, "minimize"] if search.second_objective else [first]


def open_study(
    study_name: str, search: SearchConfig, name: str, storage: optuna.storages.BaseStorage, maximise: bool, worker: int = 0
) -> optuna.Study:
    """Create the study (or load it, with ``worker``'s sampler, when it exists)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=study_name,
        storage=storage,
        directions=directions(search, maximise),
        sampler=make_sampler(search, name, worker),
        pruner=make_pruner(search),
        load_if_exists=True,
    )


def fail_stale_trials(study: optuna.Study, worker: int, workers: int, *, rdb: bool = False) -> list[int]:
    """Mark FAILED the trials left RUNNING by a killed run of slot ``worker``, or of a slot that no
    longer exists (``workers`` lowered since), and, on an RDB, those whose heartbeat stopped; the
    numbers of the trials failed here."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        slot = trial.user_attrs.get(WORKER_ATTR)
        if slot == worker or (isinstance(slot, int) and slot >= workers):
            study.tell(trial.number, state=TrialState.FAIL)
            failed.append(trial.number)
    if rdb:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    return failed


def counted_trials(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: done (complete, pruned, failed) or running."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The best complete trial: on the objective, or with two objectives the Pareto-optimal trial
    best on the first (the task's metric); ties go to the earlier trial."""
    front = study.best_trials
    if not front:
        raise DeeplenseError(f"search study {study.study_name} has no complete trial (all failed or were pruned): see its trials.csv")
    maximise = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    return sorted(front, key=lambda t: (-t.values[0] if maximise else t.values[0], t.number))[0]


@dataclass(frozen=True)
class Search:
    """A search as its jobs run it: its config, the base model's config, seed, split and study."""

    name: str
    config: SearchConfig
    base: dict[str, Any]  # the base model's ModelConfig, as JSON
    seed: int
    split: dict[str, float]
    study_name: str

    @property
    def objective(self) -> str:
        return self.config.objective or self.base["monitor"]

    @property
    def maximise(self) -> bool:
        return TASKS.get(self.base["task"]).maximised(self.objective)

    def budget(self) -> int:
        """Trials to run: ``n_trials``, or fewer when a grid has fewer points."""
        if self.config.sampler != "grid":
            return self.config.n_trials
        return min(self.config.n_trials, math.prod(len(spec.values()) for _, spec in flat_space(self.config.space)))

    def open(self, journal: str | Path, worker: int = 0) -> optuna.Study:
        """The study (created when missing) with ``worker``'s seeded sampler."""
        storage = open_storage(self.config, journal)
        return open_study(self.study_name, self.config, self.name, storage, self.maximise, worker)
