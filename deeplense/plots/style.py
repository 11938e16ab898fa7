"""One matplotlib style for every figure: colour-blind-safe palettes (Okabe–Ito for lines that are
not classes, one fixed colour per class name for lines that are), readable sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: workflow jobs have no display
import matplotlib.pyplot as plt  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# Paul Tol's "bright" qualitative scheme and black: distinct under the common colour-vision
# deficiencies, and every pair far apart (Okabe–Ito's orange and vermillion are too close to tell
# two classes apart in thin lines).
CLASS_PALETTE = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]
# The registered scenarios' usual class names keep one colour in every figure and every dataset.
NAMED_CLASS_COLOURS = {
    "no_sub": "#000000", "cdm": "#4477AA", "sidm": "#EE6677", "wdm": "#228833",
    "sphere": "#CCBB44", "axion": "#66CCEE", "vortex": "#AA3377",
}


def class_colours(classes: list[str]) -> dict[str, str]:
    """Colour of each class name: a fixed one for the scenarios' names, the palette's unused colours
    in order for other names (distinct while there are at most ``len(CLASS_PALETTE)`` classes)."""
    colours = {c: NAMED_CLASS_COLOURS[c] for c in classes if c in NAMED_CLASS_COLOURS}
    free = [c for c in CLASS_PALETTE if c not in colours.values()] or CLASS_PALETTE
    others = [c for c in classes if c not in colours]
    colours.update({c: free[i % len(free)] for i, c in enumerate(others)})
    return {c: colours[c] for c in classes}


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
