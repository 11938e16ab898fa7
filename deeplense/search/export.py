"""What a finished search leaves: every trial as a table (``trials.csv``, and HTML for the report),
the best trial's model config (trained as ``<search>_best`` with the model's full epochs), and
Optuna's figures: optimisation history, parameter importances, parallel coordinates and, with two
objectives, the Pareto front."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from optuna.importance import FanovaImportanceEvaluator
from optuna.visualization import matplotlib as optuna_plots

from deeplense.atomic import atomic_path
from deeplense.plots.style import save
from deeplense.search.space import SETTINGS_ATTR, trial_model
from deeplense.search.study import ERROR_ATTR, WORKER_ATTR, Search, best_trial


def objective_names(search: Search) -> list[str]:
    """The column name of each objective: the metric, then the second objective."""
    return [search.objective] + ([search.config.second_objective] if search.config.second_objective else [])


def trials_table(study: optuna.Study, search: Search) -> pd.DataFrame:
    """One row per trial, in trial order: number, state, objective value(s), duration [s],
    worker, every sampled parameter and the error of a failed trial."""
    names = objective_names(search)
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else None
        values = t.values if t.values else [None] * len(names)
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, **dict(zip(names, values))}
        if t.state == optuna.trial.TrialState.PRUNED and t.intermediate_values:
            row[names[0]] = None
            row["pruned_at_epoch"] = max(t.intermediate_values)
        row |= {"duration_s": duration, "worker": t.user_attrs.get(WORKER_ATTR)}
        row |= {f"param {k}": v for k, v in sorted(t.params.items())}
        row["error"] = t.user_attrs.get(ERROR_ATTR)
        rows.append(row)
    return pd.DataFrame(rows).dropna(axis=1, how="all")


def write_trials(table: pd.DataFrame, csv_out: str | Path, html_out: str | Path, search: Search) -> None:
    """The trials as CSV and as the report's HTML table."""
    with atomic_path(csv_out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    title = f"search {search.name}: {len(table)} trials of model {search.config.model} ({search.config.sampler} sampler)"
    html = f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h2>{title}</h2>{table.to_html(index=False, na_rep='')}</body></html>"
    with atomic_path(html_out) as tmp:
        tmp.write_text(html)


def best_model_config(study: optuna.Study, search: Search) -> dict[str, Any]:
    """The best trial's model config (full epochs: the model's, or the sampled ``epochs``), as JSON."""
    trial = best_trial(study)
    return trial_model(search.base, trial.user_attrs[SETTINGS_ATTR], search.objective).training_dump()


def best_trial_number(study: optuna.Study) -> int:
    return best_trial(study).number


def plot_search(study: optuna.Study, search: Search, out_dir: str | Path) -> list[Path]:
    """Optuna's matplotlib figures of the study in ``out_dir`` (importances by a seeded fANOVA); a
    figure that needs more complete trials than the study has says so instead."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = objective_names(search)
    first: dict[str, Any] = {"target": (lambda t: t.values[0]), "target_name": names[0]} if len(names) == 2 else {"target_name": names[0]}
    figures = {
        "history": lambda: optuna_plots.plot_optimization_history(study, **first),
        "importances": lambda: optuna_plots.plot_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), **first),
        "parallel_coordinates": lambda: optuna_plots.plot_parallel_coordinate(study, **first),
    }
    if len(names) == 2:
        figures["pareto_front"] = lambda: optuna_plots.plot_pareto_front(study, target_names=names)
    written = []
    for name, draw in figures.items():
        path = out_dir / f"{name}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ax = draw()
                fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            except (ValueError, RuntimeError, ZeroDivisionError) as e:
                fig, ax = plt.subplots(figsize=(6, 2))
                ax.axis("off")
                ax.text(0.5, 0.5, f"{name.replace('_', ' ')} of search {search.name}: not drawn ({e})", ha="center", va="center", wrap=True)
        fig.set_size_inches(max(fig.get_size_inches()[0], 8), max(fig.get_size_inches()[1], 5))
        fig.tight_layout()
        save(fig, path)
        written.append(path)
    return written
