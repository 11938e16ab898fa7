"""The results at a glance, as HTML fragments for the landing page of the Snakemake report: each
evaluation's headline metric with its interval and unit, and the reproduction table's rows. The
report's description (workflow/report/workflow.rst) embeds them when the run made them."""

from __future__ import annotations

import html

import pandas as pd

from deeplense.report.leaderboard_html import metric_name, metric_text
from deeplense.report.quotes import format_interval, seed_spread_text


def _table(headers: list[str], rows: list[list[str]], table_id: str, nowrap: int) -> str:
    """An HTML table; column ``nowrap`` (a value with its interval) is kept on one line."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    cells = ["<td style='white-space:nowrap'>" if i == nowrap else "<td>" for i in range(len(headers))]
    body = "".join("<tr>" + "".join(f"{td}{html.escape(c)}</td>" for td, c in zip(cells, row)) + "</tr>" for row in rows)
    # a fragment (the landing page embeds it); the charset for when it is opened on its own
    return f'<meta charset="utf-8"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def leaderboard_summary(table: pd.DataFrame) -> str:
    """One line per evaluation of a leaderboard (deeplense.report.leaderboard): model, task, data (training → evaluation when they differ) and test images,
    headline metric and its value [95% interval] with the target's unit."""
    if table.empty:
        return "<p>No model was evaluated.</p>"
    seeded = "seed_mean" in table.columns  # some model trained with several seeds: mean ± std (n seeds) beside
    rows = []
    for _, r in table.iterrows():
        data = r["eval_dataset"] if r["train_dataset"] == r["eval_dataset"] else f"{r['train_dataset']} → {r['eval_dataset']}"
        value = "–" if pd.isna(r["main_value"]) else metric_text(r, "main_value")
        rows.append([str(r["model"]), str(r["task"]), f"{data} ({int(r['n_test'])})", metric_name(str(r["main_metric"])), value])
        if seeded:
            unit = r.get("unit") if str(r["main_metric"]).startswith(("mae", "rmse")) and isinstance(r.get("unit"), str) else ""
            rows[-1].append(seed_spread_text(r, unit) or "–")
    headers = ["model", "task", "data (test images)", "metric", "value [95% CI]"] + (["mean ± std over seeds"] if seeded else [])
    return _table(headers, rows, "summary-leaderboard", 4)


def reproduction_summary(table: pd.DataFrame) -> str:
    """One line per reproduced value (deeplense.report.reproduction): the DeepLense dataset and
    metric, the published value and model, ours [95% interval] and our model."""
    if table.empty:
        return "<p>No model reproduces a published value.</p>"
    rows = []
    for _, r in table.iterrows():
        low, high = r.get("ci_low"), r.get("ci_high")
        ours = format_interval(float(r["ours"]), None if pd.isna(low) else float(low), None if pd.isna(high) else float(high))
        rows.append([str(r["DeepLense dataset"]), metric_name(str(r["metric"])), f"{r['published']:.3f} ({r['published model']})",
                     ours, str(r["our model"])])
    return _table(["DeepLense dataset", "metric", "published (model)", "ours [95% CI]", "our model"], rows, "summary-reproduction", 3)
