"""A search worker: one of the search's parallel jobs, each asking the shared study for trials and
running them until the study holds ``n_trials`` of them (finished, pruned, failed or running
elsewhere). A rerun of a finished search's worker runs nothing; a rerun of a killed one first
fails the trial it left RUNNING, then goes on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from deeplense.pause_points import pause_point
from deeplense.search.study import ERROR_ATTR, WORKER_ATTR, Search, counted_trials, fail_stale_trials
from deeplense.search.trial import TrialJob, run_trial

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
