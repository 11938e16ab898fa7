"""The leaderboard: one row per trained model, from the metrics.json files, as CSV and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from deeplense.storage.atomic import atomic_path

COLUMNS = ("model", "architecture", "task", "dataset", "n_test", "accuracy", "auc_macro", "auc_micro", "checkpoint_epoch")


def leaderboard(metrics_files: list[str | Path]) -> pd.DataFrame:
    """Rows sorted by macro AUC, best first."""
    rows = []
    for path in metrics_files:
        m = json.loads(Path(path).read_text())
        row = {key: m.get(key) for key in COLUMNS}
        row.update({f"auc_{c}": v for c, v in m.get("auc_per_class", {}).items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values("auc_macro", ascending=False, na_position="last").reset_index(drop=True)
    return table


def write_leaderboard(metrics_files: list[str | Path], csv_out: str | Path, html_out: str | Path) -> pd.DataFrame:
    table = leaderboard(metrics_files)
    with atomic_path(csv_out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    html = table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="–", classes="leaderboard", border=0)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>deeplense leaderboard</title>"
        "<style>body{font-family:sans-serif}table.leaderboard{border-collapse:collapse}"
        "table.leaderboard td,table.leaderboard th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:right}"
        "</style></head><body><h2>Leaderboard (test split)</h2>" + html + "</body></html>"
    )
    with atomic_path(html_out) as tmp:
        tmp.write_text(page)
    return table
