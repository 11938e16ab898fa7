"""The leaderboard as a self-contained HTML page: a table sortable by clicking its headers (a few
lines of inline JavaScript, nothing downloaded), and, apart and clearly labelled, the published
DeepLense values measured on other data."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from deeplense.report.quotes import format_interval, seed_spread_text

# In display order: what a reader compares first (model, task, headline metric) before what
# identifies the run, so that the headline stays in view in a narrow pane.
HEADERS = {
    "model": "model",
    "task": "task",
    "main_metric": "main metric",
    "main_value": "value [95% CI]",
    "seed_mean": "mean ± std over seeds",  # the cell: mean ± std (n seeds), std with ddof=1
    "train_dataset": "trained on",
    "eval_dataset": "evaluated on",
    "auc_macro": "macro AUC [95% CI]",
    "auc_micro": "micro AUC [95% CI]",
    "accuracy": "accuracy [95% CI]",
    "mae": "MAE [95% CI]",
    "rmse": "RMSE [95% CI]",
    "r2": "R² [95% CI]",
    "bias": "bias",
    "baseline_mae": "MAE, constant predictor",
    "baseline_r2": "R², constant predictor",
    "anomaly_auc": "anomaly AUC [95% CI]",
    "search": "from search",
    "family": "family",
    "architecture": "architecture",
    "preset": "instrument preset",
    "n_test": "test images",
    "checkpoint_epoch": "checkpoint epoch",  # shown counted from 1, as the training curves count epochs
    "seed": "seed",
    "config_hash": "config sha256",
    "published": "published, same preset & task (other data)",
}

# Columns in the unit of the regression target (the row's ``unit``); the others are unitless.
TARGET_UNIT_COLUMNS = ("mae", "rmse", "bias", "baseline_mae", "mae (posterior mean)")
COUNT_COLUMNS = ("seed", "checkpoint_epoch", "n_test")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def metric_text(row: pd.Series, column: str) -> str:
    """A metric cell as a reader takes it in: value [95% interval] scaled by a power of ten when
    large (``6.30 [4.79, 7.91] × 10⁹ M☉``), with the target's unit on error metrics."""
    value, low, high = row[column], row.get(f"{column}_low"), row.get(f"{column}_high")
    shown = format_interval(float(value), None if _missing(low) else float(low), None if _missing(high) else float(high))
    metric = row.get("main_metric") if column == "main_value" else column
    unit = row.get("unit")
    return f"{shown} {unit}" if metric in TARGET_UNIT_COLUMNS and isinstance(unit, str) and unit else shown


def display_cells(table: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Headers and, per row, (text, sort key) cells: a metric with its interval and unit as one cell."""
    columns = [c for c in HEADERS if c in table.columns]
    rows = []
    for _, r in table.iterrows():
        cells = []
        for c in columns:
            value = r[c]
            if _missing(value):
                cells.append(("–", ""))
            elif c == "seed_mean":
                unit = r.get("unit") if r.get("main_metric") in TARGET_UNIT_COLUMNS else None
                cells.append((seed_spread_text(r, unit if isinstance(unit, str) else ""), f"{value:.6g}"))
            elif c == "checkpoint_epoch":  # stored counted from 0 (the history's ``epoch``)
                cells.append((str(int(value) + 1), str(int(value) + 1)))
            elif isinstance(value, float) and c not in COUNT_COLUMNS:
                cells.append((metric_text(r, c), f"{value:.6g}"))
            elif isinstance(value, float):
                cells.append((f"{value:.0f}", f"{value:.0f}"))
            elif c == "main_metric":
                name = metric_name(value)
                cells.append((name, name))
            else:
                cells.append((str(value), str(value)))
        rows.append(cells)
    return [HEADERS[c] for c in columns], rows


def metric_name(metric: str) -> str:
    """A metric's column name as headed (``auc_macro`` → macro AUC)."""
    return HEADERS.get(metric, metric).removesuffix(" [95% CI]")


SORT_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var asc = th.getAttribute('data-order') !== 'asc';
    th.closest('tr').querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
    th.setAttribute('data-order', asc ? 'asc' : 'desc');
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-sort'), y = b.cells[col].getAttribute('data-sort');
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (x === '') - (y === '') || ((isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny);
      return asc || x === '' || y === '' ? c : -c;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""

STYLE = (
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "div.wide{overflow-x:auto;margin-bottom:1.5em}"  # a wide table scrolls inside its box, the page does not
    "table{border-collapse:collapse;font-size:14px}"
    "td,th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:left;white-space:nowrap}"
    "td.text{white-space:normal;min-width:16em;max-width:28em}"
    "table.sortable th{cursor:pointer;background:#eef3f8}"
    "th[data-order=asc]::after{content:' ▲'}th[data-order=desc]::after{content:' ▼'}"
    "table.published td,table.published th{color:#555;background:#f7f7f7}"
    "p.note{max-width:60em}"
)

# Long free text wraps; every other cell stays on one line.
TEXT_HEADERS = ("published, same preset & task (other data)", "note", "source")


def _table(headers: list[str], rows: list[list[tuple[str, str]]], cls: str, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    wrap = [" class='text'" if h in TEXT_HEADERS else "" for h in headers]
    body = "".join(
        "<tr>" + "".join(f'<td{w} data-sort="{html.escape(key)}">{html.escape(text)}</td>' for w, (text, key) in zip(wrap, row)) + "</tr>"
        for row in rows
    )
    return f'<div class="wide"><table id="{table_id}" class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def published_cells(published: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, str]]]]:
    columns = ["dataset", "preset", "task", "model", "metric", "value", "note", "source"]
    rows = [[(f"{r[c]:.4f}" if c == "value" else str(r[c]), str(r[c])) for c in columns] for _, r in published.iterrows()]
    return ["DeepLense dataset", "our instrument preset / dataset", "task", "model", "metric", "published value", "note", "source"], rows


def published_note(table: pd.DataFrame, shown: int, total: int) -> str:
    """One line on the published values left out: those measured on instrument presets and
    datasets that no row of ``table`` uses."""
    presets = ", ".join(sorted({str(p) for p in table.get("preset", pd.Series(dtype=str)).dropna()})) or "none"
    if shown == 0:
        return (f"None of the {total} published DeepLense values was measured on an instrument preset or dataset evaluated here "
                f"(instrument presets here: {presets}); all are listed in leaderboard_published.csv beside leaderboard.csv.")
    return (f"{shown} of the {total} published DeepLense values match an instrument preset or dataset and a task evaluated here; "
            "the others are listed in leaderboard_published.csv beside leaderboard.csv.")


def leaderboard_page(table: pd.DataFrame, published: pd.DataFrame, total_published: int) -> str:
    """The whole page: our leaderboard, then the published values that match one of its rows
    (``published``, out of ``total_published``), each in its own section."""
    headers, rows = display_cells(table)
    ours = _table(headers, rows, "leaderboard sortable", "leaderboard") if rows else "<p>No model was evaluated.</p>"
    pub_headers, pub_rows = published_cells(published)
    matching = _table(pub_headers, pub_rows, "published sortable", "published") if pub_rows else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>deeplense leaderboard</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h2>Leaderboard: every trained model on the fixed test split</h2>"
        "<p class='note'>One row per evaluation (model × task × training dataset × evaluation dataset), "
        "from the selected checkpoint; intervals are 95% percentile bootstrap intervals over test images. "
        "Where a model trained with several seeds, its headline metric's mean ± sample std (ddof=1) over them stands beside "
        "the first run's value. "
        "Click a header to sort.</p>"
        + ours
        + "<h2>Published DeepLense values (different data, for orientation)</h2>"
        "<p class='note'>Measured by the DeepLense groups on their own simulations, splits and checkpoints "
        "(single runs, the work each value comes from in the last column); not comparable one to one with the table above. "
        "Matched by instrument preset or preset dataset name, and task.</p>"
        f"<p class='note' id='published-note'>{html.escape(published_note(table, len(pub_rows), total_published))}</p>"
        + matching
        + f"<script>{SORT_SCRIPT}</script></body></html>"
    )
