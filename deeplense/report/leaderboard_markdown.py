"""The leaderboard as Markdown (for a README or a paper draft): our table, then the published
DeepLense values under their own heading."""

from __future__ import annotations

import pandas as pd

from deeplense.report.leaderboard_html import display_cells, published_cells


def _markdown_table(headers: list[str], rows: list[list[tuple[str, str]]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line([text for text, _ in row]) for row in rows)])


def leaderboard_markdown(table: pd.DataFrame, published: pd.DataFrame) -> str:
    ours = _markdown_table(*display_cells(table)) if not table.empty else "No model was evaluated."
    return (
        "## Leaderboard (fixed test split, 95% bootstrap intervals)\n\n"
        + ours
        + "\n\n## Published DeepLense values (different data, for orientation)\n\n"
        "Measured on the DeepLense groups' own simulations and splits; matched by instrument preset or preset dataset name, and task.\n\n"
        + _markdown_table(*published_cells(published))
        + "\n"
    )
