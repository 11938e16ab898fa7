"""Which per-image physics parameters a dataset drew (those that vary between its images), and
their histograms per class: the Datasets section of the report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from deeplense.plots.style import class_colours, figure, save
from deeplense.storage.dataset_store import open_dataset

# Per-sample bookkeeping, not physics (``n_halos_fast``/``n_halos_pyhalo``: which code computed the halos).
NOT_PARAMETERS = {"label", "seed", "index_in_class", "sample", "n_halos_fast", "n_halos_pyhalo"}
ANGLE_UNITS = {"rad", "radian", "radians", "deg", "degree", "degrees"}
LOG_DECADES = 2.0  # a positive quantity gets a log axis when its values span more decades than this


def drawn_parameters(ds: xr.Dataset, labels: np.ndarray | None = None) -> list[str]:
    """Record fields that vary between images of one class (drawn, not fixed by the config),
    in store order; ``labels`` restricts to the classes present in it."""
    labels = ds["label"].values if labels is None else labels
    out = []
    for name in ds.variables:
        if name in NOT_PARAMETERS or ds[name].dims != ("sample",) or not np.issubdtype(ds[name].dtype, np.number):
            continue
        values = ds[name].values.astype(float)
        for cls in np.unique(labels):
            finite = values[(ds["label"].values == cls) & np.isfinite(values)]
            if finite.size > 1 and np.ptp(finite) > 0:
                out.append(str(name))
                break
    return out


def axis_label(ds: xr.Dataset, name: str) -> str:
    unit = str(ds[name].attrs.get("units", ""))
    return f"{name} [{unit}]" if unit and unit != "1" else f"{name} [dimensionless]" if unit == "1" else name


def log_axis(values: np.ndarray, units: str) -> bool:
    """Whether a parameter's histogram reads best on a log axis: only a positive quantity spanning
    more than ``LOG_DECADES`` decades (masses, halo counts); never an angle (its range is a period,
    not a scale), nor a quantity that can be ≤ 0 or spans fewer decades."""
    finite = values[np.isfinite(values)]
    if units.strip().lower() in ANGLE_UNITS or finite.size == 0 or finite.min() <= 0:
        return False
    return bool(np.log10(finite.max() / finite.min()) > LOG_DECADES)


def plot_parameter_histograms(store: str | Path, out: str | Path, columns: int = 4) -> None:
    """One panel per drawn parameter, one step histogram per class in its class colour (shared
    bins; log bins where ``log_axis`` says so)."""
    ds = open_dataset(store)
    classes = list(ds.attrs["classes"])
    labels = ds["label"].values
    names = drawn_parameters(ds)
    colours = class_colours(classes)
    rows = max(1, math.ceil(len(names) / columns))
    fig, axes = figure(rows, columns, figsize=(4.2 * columns, 3.3 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    if not names:
        axes[0, 0].text(0.5, 0.5, "no parameter varies between images", ha="center", va="center")
    for ax, name in zip(axes.flat, names):
        values = ds[name].values.astype(float)
        finite = values[np.isfinite(values)]
        log = log_axis(finite, str(ds[name].attrs.get("units", "")))
        bins = np.geomspace(finite.min(), finite.max(), 21) if log else np.histogram_bin_edges(finite, bins=20)
        for i, cls in enumerate(classes):
            v = values[(labels == i) & np.isfinite(values)]
            if v.size:
                ax.hist(v, bins=bins, histtype="step", lw=2, label=cls, color=colours[cls])
        if log:
            ax.set_xscale("log")
        ax.set(xlabel=axis_label(ds, name), ylabel="images")
    drawn: dict[str, object] = {}  # every class with a histogram in some panel (the first panel may show one class)
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            drawn.setdefault(label, handle)
    shown = [c for c in classes if c in drawn]
    if shown:
        fig.legend([drawn[c] for c in shown], shown, loc="outside upper right", ncols=len(classes), fontsize=9)
    fig.suptitle(f"dataset {ds.attrs['dataset']}: drawn per-image parameters by class (n={ds.sizes['sample']})")
    save(fig, out)
