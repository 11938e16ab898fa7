"""The leaderboard: one row per evaluation (model × task × train dataset × eval dataset) from the
metrics.json files, with bootstrap intervals, and the published DeepLense figures for the same
instrument preset and task beside it. Written as CSV, Markdown and a sortable HTML page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from deeplense.report.leaderboard_html import leaderboard_page
from deeplense.report.quotes import target_unit
from deeplense.report.seed_spread import SEED_COLUMNS, add_seed_columns
from deeplense.report.summary import leaderboard_summary
from deeplense.published import PUBLISHED, published_for
from deeplense.tasks import TASKS, task_names
from deeplense.atomic import atomic_path
from deeplense.storage.provenance import MetricsFile

# Six significant digits in the CSV: a table quoted from it rounds the value once, as metrics.json
# holds it (four decimals rounded 0.84049 to 0.8405, which then showed as 0.841).
LEADERBOARD_FLOAT_FORMAT = "%.6g"
ID_COLUMNS = ("model", "search", "family", "architecture", "task", "train_dataset", "eval_dataset", "preset")


def architecture_family(architecture: str | None) -> str | None:
    """The model family of an architecture name: ``resnet18`` → resnet, ``efficientnet_b2`` →
    efficientnet, ``vit_tiny_patch16_224`` → vit, ``xresnet18_hybrid`` → xresnet."""
    if not architecture:
        return None
    if architecture in ("vae", "aae") or architecture.endswith("_ae"):
        return "autoencoder"
    head = architecture.split("_")[0]
    return re.sub(r"\d.*$", "", head) or head
TAIL_COLUMNS = ("unit", "n_test", "checkpoint_epoch", "seed", "config_hash", "published")


def _published_summary(preset: str | None, task: str, dataset: str | None) -> str:
    """Range of the published values on the same preset and task, e.g. "0.9229–0.9955 (9 models, auc_macro)"."""
    values = [v for v in published_for(preset, task, dataset) if v.model != "constant predictor"]
    by_metric: dict[str, list[float]] = {}
    for v in values:
        by_metric.setdefault(v.metric, []).append(v.value)
    return "; ".join(f"{min(x):.4f}–{max(x):.4f} ({len(x)} models, {metric})" for metric, x in by_metric.items())


def leaderboard_row(metrics: MetricsFile) -> dict[str, Any]:
    """One leaderboard row from one metrics.json; its task names the columns."""
    prov, task, values = metrics.provenance, metrics.task, metrics.values
    row: dict[str, Any] = {
        "model": metrics.model,
        "family": architecture_family(metrics.architecture),
        "architecture": metrics.architecture,
        "task": task,
        "train_dataset": metrics.train_dataset,
        "eval_dataset": metrics.dataset,
        "preset": prov.dataset_preset,
    }
    ci = metrics.ci
    columns = TASKS.get(task).leaderboard
    rank = columns[0]  # the task's ranking metric, in one column across tasks
    row |= {"main_metric": rank.name, "main_value": values[rank.key] if rank.key in values else None}
    if rank.key in ci:
        row["main_value_low"], row["main_value_high"] = ci[rank.key].low, ci[rank.key].high
    for column in columns:
        row[column.name] = values[column.key] if column.key in values else None
        if column.key in ci:
            row[f"{column.name}_low"], row[f"{column.name}_high"] = ci[column.key].low, ci[column.key].high
    if "auc_per_class" in values:
        row.update({f"auc_{c}": v for c, v in values["auc_per_class"].items()})
    row.update(
        {
            "unit": target_unit(values.get("target_units") or {}) or None,  # of the error metrics (MAE, RMSE, bias)
            "n_test": metrics.n_test,
            "checkpoint_epoch": metrics.checkpoint_epoch,
            "seed": prov.seed,
            "config_hash": prov.config_hash.removeprefix("sha256:")[:12],
            "published": _published_summary(prov.dataset_preset, task, metrics.dataset) or None,
        }
    )
    return row


def _metric_columns(rows: list[dict[str, Any]], seeded: list[str]) -> list[str]:
    # a column two tasks share (coverage error of a regressor's σ and of a posterior) is one column
    ordered = list(dict.fromkeys(
        c for task in task_names() for col in TASKS.get(task).leaderboard for c in (col.name, f"{col.name}_low", f"{col.name}_high")
    ))
    present = {k for r in rows for k in r}
    per_class = sorted(k for k in present if k.startswith("auc_") and k not in ordered and k not in ("auc_macro", "auc_micro"))
    main = [c for c in ("main_metric", "main_value", "main_value_low", "main_value_high") if c in present]
    return main + seeded + [c for c in ordered if c in present] + per_class  # the spread over seeds beside the headline


def leaderboard(
    metrics_files: list[str | Path], searches: dict[str, str] | None = None, seed_metrics: list[str | Path] | None = None
) -> pd.DataFrame:
    """Rows grouped by task (classification, regression, anomaly), best first within each task
    by its ranking metric (macro AUC, MAE, anomaly AUC). ``searches``: model → the search whose
    best config it is (column ``search``, left out when no model came from one). ``seed_metrics``:
    the training repeats' metrics.json (``seeds:``); a model with repeats gets ``seeds``,
    ``seed_mean`` and ``seed_std`` (ddof=1) of its headline metric (deeplense.report.seed_spread)."""
    metrics = [MetricsFile.read(p) for p in metrics_files]
    rows = [leaderboard_row(m) for m in metrics]
    for row in rows:
        row["search"] = (searches or {}).get(row["model"])
    add_seed_columns(rows, metrics, seed_metrics or [])
    seeded = [c for c in SEED_COLUMNS if any(c in r for r in rows)]
    table = pd.DataFrame(rows, columns=[*ID_COLUMNS, *_metric_columns(rows, seeded), *TAIL_COLUMNS])
    if "seeds" in table:  # a count (empty where the model ran once), not a float of the CSV's float format
        table["seeds"] = table["seeds"].astype("Int64")
    if table.empty:
        return table
    parts = []
    for task in task_names():
        part = table[table["task"] == task]
        if part.empty:
            continue
        rank = TASKS.get(task).leaderboard[0]
        parts.append(part.sort_values([rank.name, "model"], ascending=[rank.lower_is_better, True], na_position="last"))
    return pd.concat(parts).dropna(axis=1, how="all").reset_index(drop=True)


def published_table(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published value (with its source) with the preset that reproduces its dataset; with
    ``table`` (a leaderboard), only those on the instrument preset or dataset and task of one of its rows."""
    if table is None:
        return pd.DataFrame([v.as_row() for v in PUBLISHED])
    matched = {v for r in table.itertuples(index=False) for v in published_for(r.preset, r.task, r.eval_dataset)}
    return pd.DataFrame([v.as_row() for v in PUBLISHED if v in matched], columns=list(PUBLISHED[0].as_row()))


def write_leaderboard(
    metrics_files: list[str | Path],
    csv_out: str | Path,
    html_out: str | Path,
    markdown_out: str | Path | None = None,
    published_csv: str | Path | None = None,
    searches: dict[str, str] | None = None,
    summary_out: str | Path | None = None,
    seed_metrics: list[str | Path] | None = None,
) -> pd.DataFrame:
    """Write the leaderboard as CSV, HTML (sortable) and Markdown, the published values as CSV, and
    the headline rows as an HTML fragment (``summary_out``, for the report's landing page).
    ``seed_metrics``: the training repeats' metrics (see :func:`leaderboard`)."""
    from deeplense.report.leaderboard_markdown import leaderboard_markdown

    table = leaderboard(metrics_files, searches, seed_metrics)
    published = published_table()
    matching = published_table(table) if not table.empty else published.iloc[:0]
    with atomic_path(csv_out) as tmp:
        table.to_csv(tmp, index=False, float_format=LEADERBOARD_FLOAT_FORMAT)
    if published_csv is not None:
        with atomic_path(published_csv) as tmp:
            published.to_csv(tmp, index=False)
    with atomic_path(html_out) as tmp:
        tmp.write_text(leaderboard_page(table, matching, len(published)))
    if markdown_out is not None:
        with atomic_path(markdown_out) as tmp:
            tmp.write_text(leaderboard_markdown(table, matching, len(published)))
    if summary_out is not None:
        with atomic_path(summary_out) as tmp:
            tmp.write_text(leaderboard_summary(table))
    return table
