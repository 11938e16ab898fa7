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
    """Run trials of ``search`` as worker slot ``worker`` until the study holds its budget. Trials
    run under ``Study.optimize`` (so an RDB storage's heartbeat beats while one trains); a trial
    whose settings cannot train fails alone, with its error recorded."""
    study = search.open(journal, worker)
    stale = fail_stale_trials(study, worker, search.config.workers, rdb=bool(search.config.storage))
    job = TrialJob(search.config, search.base, search.objective, search.maximise, str(store), search.seed, search.split, Path(scratch))
    outcomes: list[TrialState] = []

    def objective(trial: optuna.Trial) -> list[float]:
        trial.set_user_attr(WORKER_ATTR, worker)
        pause_point("search.trial_started")
        try:
            return run_trial(trial, job)
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr(ERROR_ATTR, f"{type(e).__name__}: {e}"[:500])
            raise

    def stop_at_budget(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        outcomes.append(trial.state)
        print(f"trial {trial.number}: {trial.state.name} {trial.values or ''} {trial.params}", flush=True)
        if counted_trials(study) >= search.budget():
            study.stop()

    if counted_trials(study) < search.budget():
        study.optimize(objective, callbacks=[stop_at_budget], catch=(Exception,), gc_after_trial=True)
    return WorkerSummary(outcomes.count(TrialState.COMPLETE), outcomes.count(TrialState.PRUNED), outcomes.count(TrialState.FAIL), stale)
