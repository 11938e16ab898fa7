"""The reproduction table: each model that names a published DeepLense value (``reproduces``)
beside it, ours with its 95% interval, with the training images per class and the image size on
both sides, one table per DeepLense dataset. Written as CSV, Markdown and an HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from deeplense.report.leaderboard_html import STYLE
from deeplense.report.sensitivity import metric_value
from deeplense.report.summary import reproduction_summary
from deeplense.published import PUBLISHED_DATA, REFERENCES, published_value
from deeplense.atomic import atomic_path
from deeplense.storage.provenance import MetricsFile, TrainInfo

COLUMNS = ("DeepLense dataset", "published model", "metric", "published", "published train/class", "published size",
           "our model", "architecture", "evaluated on", "ours [95% CI]", "our train/class", "our size", "source")


def reproduction_row(entry: dict[str, str], metrics: MetricsFile, info: TrainInfo) -> dict[str, Any]:
    """One row: ``entry`` names the model, the evaluation dataset and the published value's key."""
    published = published_value(entry["published"], metrics.task)
    ours = metric_value(metrics.values, published.metric)
    interval = metrics.ci[published.metric] if published.metric in metrics.ci else None
    train, size = PUBLISHED_DATA[published.dataset]
    _, side, _ = info.image_shape
    return {
        "DeepLense dataset": published.dataset,
        "published model": published.model,
        "metric": published.metric,
        "published": published.value,
        "published train/class": train,
        "published size": f"{size}×{size}",
        "our model": metrics.model,
        "architecture": metrics.architecture,
        "evaluated on": metrics.dataset,
        "ours": ours,
        "ci_low": interval.low if interval else None,
        "ci_high": interval.high if interval else None,
        "ours [95% CI]": f"{ours:.4f} [{interval.low:.4f}, {interval.high:.4f}]" if interval else f"{ours:.4f}",
        "our train/class": info.smallest_train_class(),
        "our size": f"{side}×{side}",
        "source": REFERENCES[published.reference].citation(),
    }


def reproduction_table(entries: list[dict[str, str]], metrics_files: list[str | Path], info_files: list[str | Path]) -> pd.DataFrame:
    """Rows in the order of ``entries`` (each with its metrics.json and its model's train_info.json)."""
    rows = [
        reproduction_row(entry, MetricsFile.read(m), TrainInfo.read(i))
        for entry, m, i in zip(entries, metrics_files, info_files)
    ]
    return pd.DataFrame(rows)


def _html_table(part: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('—' if pd.isna(r[c]) else str(r[c]))}</td>" for c in COLUMNS) + "</tr>" for _, r in part.iterrows())
    return f"<table class='leaderboard'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_reproduction(
    table: pd.DataFrame, csv_out: str | Path, html_out: str | Path, markdown_out: str | Path, summary_out: str | Path | None = None
) -> None:
    """One table per DeepLense dataset, as CSV, HTML and Markdown, and every row in brief as an
    HTML fragment (``summary_out``, for the report's landing page)."""
    with atomic_path(csv_out) as tmp:
        table.to_csv(tmp, index=False)
    sections_html, sections_md = [], []
    for dataset, part in table.groupby("DeepLense dataset", sort=False):
        sections_html.append(f"<h2>DeepLense {html.escape(str(dataset))}</h2>" + _html_table(part))
        shown = part[list(COLUMNS)].fillna("—")
        sections_md.append(f"### DeepLense {dataset}\n\n" + shown.to_markdown(index=False))
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>deeplense reproduction</title>"
        f"<style>{STYLE}</style></head><body><h1>Published DeepLense results beside ours</h1>"
        "<p class='note'>Ours: the test split of our simulations of the same recipe, from the selected checkpoint, with "
        "95% percentile bootstrap intervals; published: single runs on the DeepLense groups' own simulations.</p>"
        + "".join(sections_html) + "</body></html>"
    )
    with atomic_path(html_out) as tmp:
        tmp.write_text(page)
    with atomic_path(markdown_out) as tmp:
        tmp.write_text("\n\n".join(sections_md) + "\n")
    if summary_out is not None:
        with atomic_path(summary_out) as tmp:
            tmp.write_text(reproduction_summary(table))
