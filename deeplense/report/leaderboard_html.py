"""The leaderboard as a self-contained HTML page: a table sortable by clicking its headers (a few
lines of inline JavaScript, nothing downloaded), and, apart and clearly labelled, the published
DeepLense values measured on other data."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

HEADERS = {
    "model": "model",
    "search": "from search",
    "family": "family",
    "architecture": "architecture",
    "task": "task",
    "train_dataset": "trained on",
    "eval_dataset": "evaluated on",
    "preset": "instrument preset",
    "main_metric": "main metric",
    "main_value": "value [95% CI]",
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
    "n_test": "test images",
    "checkpoint_epoch": "checkpoint epoch",  # shown counted from 1, as the training curves count epochs
    "seed": "seed",
    "config_hash": "config sha256",
    "published": "published, same preset & task (other data)",
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def display_cells(table: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Headers and, per row, (text, sort key) cells: a metric with its interval as one cell."""
    columns = [c for c in HEADERS if c in table.columns]
    rows = []
    for _, r in table.iterrows():
        cells = []
        for c in columns:
            value = r[c]
            if _missing(value):
                cells.append(("–", ""))
            elif c == "checkpoint_epoch":  # stored counted from 0 (the history's ``epoch``)
                cells.append((str(int(value) + 1), str(int(value) + 1)))
            elif isinstance(value, float) and c not in ("seed", "n_test"):
                low, high = r.get(f"{c}_low"), r.get(f"{c}_high")
                ci = "" if _missing(low) or _missing(high) else f" [{low:.3f}, {high:.3f}]"
                cells.append((f"{value:.4f}{ci}", f"{value:.6g}"))
            elif isinstance(value, float):
                cells.append((f"{value:.0f}", f"{value:.0f}"))
            elif c == "main_metric":
                name = HEADERS.get(value, value).removesuffix(" [95% CI]")
                cells.append((name, name))
            else:
                cells.append((str(value), str(value)))
        rows.append(cells)
    return [HEADERS[c] for c in columns], rows


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
    "table{border-collapse:collapse;margin-bottom:1.5em;font-size:14px}"
    "td,th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:left;white-space:nowrap}"
    "table.sortable th{cursor:pointer;background:#eef3f8}"
    "th[data-order=asc]::after{content:' ▲'}th[data-order=desc]::after{content:' ▼'}"
    "table.published td,table.published th{color:#555;background:#f7f7f7}"
    "p.note{max-width:60em}"
)


def _table(headers: list[str], rows: list[list[tuple[str, str]]], cls: str, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td data-sort="{html.escape(key)}">{html.escape(text)}</td>' for text, key in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}" class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def published_cells(published: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, str]]]]:
    columns = ["dataset", "preset", "task", "model", "metric", "value", "note", "source"]
    rows = [[(f"{r[c]:.4f}" if c == "value" else str(r[c]), str(r[c])) for c in columns] for _, r in published.iterrows()]
    return ["DeepLense dataset", "our instrument preset / dataset", "task", "model", "metric", "published value", "note", "source"], rows


def leaderboard_page(table: pd.DataFrame, published: pd.DataFrame) -> str:
    """The whole page: our leaderboard, then the published values, each in its own section."""
    headers, rows = display_cells(table)
    ours = _table(headers, rows, "leaderboard sortable", "leaderboard") if rows else "<p>No model was evaluated.</p>"
    pub_headers, pub_rows = published_cells(published)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>deeplense leaderboard</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h2>Leaderboard: every trained model on the fixed test split</h2>"
        "<p class='note'>One row per evaluation (model × task × training dataset × evaluation dataset), "
        "from the selected checkpoint; intervals are 95% percentile bootstrap intervals over test images. "
        "Click a header to sort.</p>"
        + ours
        + "<h2>Published DeepLense values (different data, for orientation)</h2>"
        "<p class='note'>Measured by the DeepLense groups on their own simulations, splits and checkpoints "
        "(single runs, the work each value comes from in the last column); not comparable one to one with the table above. "
        "Matched by instrument preset or preset dataset name, and task.</p>"
        + _table(pub_headers, pub_rows, "published sortable", "published")
        + f"<script>{SORT_SCRIPT}</script></body></html>"
    )
