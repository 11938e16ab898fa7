"""The metric a sweep or a learning curve plots must be one that evaluation writes for each model
it plots: checked when the config is read (against ``Task.metric_paths``), not in the report's
last job."""

from __future__ import annotations

from typing import Any

from deeplense.config import ExperimentConfig
from deeplense.experiment.learning_curves import LearningCurveConfig
from deeplense.experiment.sweeps import SweepConfig, _chosen_models
from deeplense.physics.records import renamed_note
from deeplense.tasks import TASKS
from deeplense.validation import Problem, not_one_of, validate_entries


def _paths(cfg: ExperimentConfig, model: str) -> list[str] | None:
    """The metric paths of model ``model``'s metrics.json; None for a task that does not declare
    them (no ``metrics`` or ``example_predictions``: its metric is read as written)."""
    m = cfg.models[model]
    try:
        return TASKS.get(m.task).from_config(m, cfg.datasets[m.dataset].class_names).metric_paths()
    except NotImplementedError:
        return None


def _problem(cfg: ExperimentConfig, at: tuple[str, str], metric: str, models: list[str]) -> list[Problem]:
    """Why ``metric`` cannot be plotted for ``models`` (those of the config that are valid), if it cannot."""
    models = [m for m in models if m in cfg.models and cfg.models[m].dataset in cfg.datasets]  # others: their own problems
    declared = {m: paths for m in models if (paths := _paths(cfg, m)) is not None}
    if not declared:
        return []
    models = list(declared)
    allowed = declared[models[0]]
    for m in models[1:]:
        allowed = [p for p in allowed if p in set(declared[m])]
    if metric in allowed:
        return []
    which = f"model {models[0]}" if len(models) == 1 else f"models {', '.join(models)}"
    return [Problem((*at, "metric"), not_one_of(f"not a metric that evaluation writes for {which}{renamed_note(metric)}", metric, allowed), metric)]


def plotted_metric_problems(cfg: ExperimentConfig) -> list[Problem]:
    """Every sweep and learning curve whose ``metric`` is not in the metrics.json of each model it plots."""
    out: list[Problem] = []
    raw_models: dict[str, Any] = {n: m.model_dump(mode="json") for n, m in cfg.models.items()}
    sweeps, _ = validate_entries(SweepConfig, cfg.sweeps, "sweeps")  # their own problems are reported by expand_sweeps
    for name, sweep in sweeps.items():
        out += _problem(cfg, ("sweeps", name), sweep.metric, _chosen_models(raw_models, sweep))
    curves, _ = validate_entries(LearningCurveConfig, cfg.learning_curves, "learning_curves")
    for name, curve in curves.items():
        out += _problem(cfg, ("learning_curves", name), curve.metric, [curve.model])
    return out
