"""A search worker: one of the search's parallel jobs, each asking the shared study for trials and
running them until the study holds ``n_trials`` of them (finished, pruned, failed or running
elsewhere). A rerun of a finished search's worker runs nothing; a rerun of a killed one first
fails the trial it left RUNNING, then goes on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from deeplense.pause_points import pause_point
from deeplense.search.config import SearchConfig, flat_space
from deeplense.search.study import WORKER_ATTR, counted_trials, fail_stale_trials, open_storage, open_study
from deeplense.search.trial import TrialJob, run_trial
from deeplense.tasks import TASKS

ERROR_ATTR = "error"


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


@dataclass(frozen=True)
class WorkerSummary:
    """What one worker run did: trials it ran, by outcome, and stale trials it failed."""

    complete: int
    pruned: int
    failed: int
    stale_failed: list[int]

    def __str__(self) -> str:
        stale = f"; failed trial(s) {self.stale_failed} left running by a killed run" if self.stale_failed else ""
        return f"{self.complete} complete, {self.pruned} pruned, {self.failed} failed{stale}"


def run_worker(search: Search, worker: int, store: str | Path, journal: str | Path, scratch: str | Path) -> WorkerSummary:
    """Run trials of ``search`` as worker slot ``worker`` until the study holds its budget."""
    study = search.open(journal, worker)
    stale = fail_stale_trials(study, worker, rdb=bool(search.config.storage))
    job = TrialJob(search.config, search.base, search.objective, search.maximise, str(store), search.seed, search.split, Path(scratch))
    outcomes = {TrialState.COMPLETE: 0, TrialState.PRUNED: 0, TrialState.FAIL: 0}
    while counted_trials(study) < search.budget():
        trial = study.ask()
        trial.set_user_attr(WORKER_ATTR, worker)
        pause_point("search.trial_started")
        try:
            values = run_trial(trial, job)
        except optuna.TrialPruned:
            state, values = TrialState.PRUNED, None
        except Exception as e:  # noqa: BLE001 (a trial's settings that cannot train fail that trial only)
            trial.set_user_attr(ERROR_ATTR, f"{type(e).__name__}: {e}"[:500])
            state, values = TrialState.FAIL, None
            print(f"trial {trial.number} failed: {type(e).__name__}: {e}")
        else:
            state = TrialState.COMPLETE
        study.tell(trial, values, state=state)
        outcomes[state] += 1
        print(f"trial {trial.number}: {state.name} {values if values else ''} {trial.params}")
    return WorkerSummary(outcomes[TrialState.COMPLETE], outcomes[TrialState.PRUNED], outcomes[TrialState.FAIL], stale)
