"""Figures checked by what they show, not by file size. In-process plots: the ``saved_figures``
fixture keeps every matplotlib figure a test saves, by file name, so a test reads its axes, labels
and legend entries. PNGs written by another process (the workflow's jobs): ``assert_drawn`` checks
the pixels. A test module imports what it uses: ``from tests.figures import saved_figures``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-[0-9a-f]{8}$")  # deeplense.atomic's sibling of the output


@pytest.fixture
def saved_figures(monkeypatch) -> dict[str, Figure]:
    """Every figure saved while the test runs, keyed by the output's file name (``roc.png``)."""
    figures: dict[str, Figure] = {}
    savefig = Figure.savefig

    def record(fig: Figure, fname, *args, **kwargs):
        name = Path(fname).name
        match = _TEMPORARY.match(name)
        figures[match.group("name") if match else name] = fig
        return savefig(fig, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return figures


def legend_entries(fig: Figure) -> list[str]:
    """The texts of every legend of ``fig`` (axes legends and figure legends), in order."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [t.get_text() for legend in legends if legend is not None for t in legend.get_texts()]


def axis_labels(fig: Figure) -> list[tuple[str, str]]:
    """(x label, y label) of each visible axes of ``fig`` (colour bars included)."""
    return [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes if ax.get_visible() and ax.axison]


def assert_drawn(png: str | Path, *, min_coloured: int = 500) -> np.ndarray:
    """A PNG that shows data, not only axes: at least ``min_coloured`` of its pixels are coloured
    (the figures draw data in colour-blind-safe palettes or a colour map; frames, ticks, text and
    grid are black, grey or white, so empty axes have none; so is the no_sub class's black line). Returns the RGB pixels."""
    pixels = imread(png)[..., :3]
    chroma = pixels.max(axis=-1) - pixels.min(axis=-1)
    coloured = int((chroma > 0.25).sum())
    assert coloured >= min_coloured, f"{png}: {coloured} coloured pixels; the figure shows no data"
    return pixels
