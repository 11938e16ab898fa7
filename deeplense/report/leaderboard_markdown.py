"""The leaderboard as Markdown (for a README or a paper draft): our table, then the published
DeepLense values under their own heading."""

from __future__ import annotations

import pandas as pd

from deeplense.report.leaderboard_html import display_cells, published_cells, published_note


def _markdown_table(headers: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """The display texts as a Markdown table (pandas' ``to_markdown``; cells kept as text, pipes escaped)."""
    cells = [[text.replace("|", "\\|") for text, _ in row] for row in rows]
    return pd.DataFrame(cells, columns=headers).to_markdown(index=False, disable_numparse=True)


def leaderboard_markdown(table: pd.DataFrame, published: pd.DataFrame, total_published: int) -> str:
    """Our table, then the published values that match one of its rows (``published``, out of ``total_published``)."""
    ours = _markdown_table(*display_cells(table)) if not table.empty else "No model was evaluated."
    headers, rows = published_cells(published)
    matching = "\n\n" + _markdown_table(headers, rows) if rows else ""
    return (
        "## Leaderboard (fixed test split, 95% bootstrap intervals)\n\n"
        + ours
        + "\n\n## Published DeepLense values (different data, for orientation)\n\n"
        "Measured on the DeepLense groups' own simulations and splits; matched by instrument preset or preset dataset name, and task. "
        + published_note(table, len(rows), total_published)
        + matching
        + "\n"
    )
