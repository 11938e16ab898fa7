"""One matplotlib style for every figure: Okabe–Ito colour-blind-safe palette, readable sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: workflow jobs have no display
import matplotlib.pyplot as plt  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
}


def figure(*args, **kwargs):
    """``plt.subplots`` under the deeplense style."""
    with plt.rc_context(STYLE):
        return plt.subplots(*args, **kwargs)


def save(fig, path) -> None:
    """Save atomically and close."""
    from deeplense.atomic import atomic_path

    with plt.rc_context(STYLE), atomic_path(path) as tmp:
        fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1])
    plt.close(fig)
