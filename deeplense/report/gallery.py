"""A grid of example images per class, with the physics drawn for each image under it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from deeplense.report.parameters import drawn_parameters
from deeplense.plots.style import figure, save
from deeplense.storage.dataset_store import open_dataset, store_attrs

# Shown first when drawn, in this order; any other drawn parameter follows.
PRIORITY = ("lens_theta_E", "snr", "n_halos", "halo_mass_total", "log_mc", "log10_m_axion")
UNIT_SUFFIX = {"arcsec": "″", "Msun": " M☉", "1": "", "": ""}
MAX_FIELDS = 5


def image_caption(rec: xr.Dataset, col: int, fields: list[str]) -> str:
    """The image's drawn values, one per line, e.g. ``lens_theta_E=1.21″``."""
    words = []
    for key in fields:
        value = float(rec[key].values[col])
        if np.isfinite(value):
            unit = str(rec[key].attrs.get("units", ""))
            words.append(f"{key}={value:.3g}{UNIT_SUFFIX.get(unit, ' ' + unit)}")
        if len(words) == MAX_FIELDS:
            break
    return "\n".join(words)


def plot_gallery(store: str | Path, out: str | Path, per_class: int) -> None:
    """First ``per_class`` images of each class (deterministic), one row per class, band 0."""
    ds = open_dataset(store)
    classes = list(ds.attrs["classes"])
    labels = ds["label"].values
    drawn = drawn_parameters(ds)
    fields = [k for k in PRIORITY if k in drawn] + [k for k in drawn if k not in PRIORITY]
    fig, axes = figure(len(classes), per_class, figsize=(2.6 * per_class, 3.4 * len(classes)), squeeze=False)
    for row, name in enumerate(classes):
        picks = np.flatnonzero(labels == row)[:per_class]
        rec = ds.isel(sample=picks).compute()
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if col >= picks.size:
                ax.axis("off")
                continue
            ax.imshow(rec["image"].values[col, 0], origin="lower", cmap="magma")
            ax.set_xlabel(image_caption(rec, col, fields), fontsize=6.5)
            if col == 0:
                ax.set_ylabel(name, fontsize=11)
    attrs = store_attrs(ds, store)
    fig.suptitle(f"dataset {attrs.dataset}: examples per class ({ds.sizes['y']}×{ds.sizes['x']} px at {attrs.instrument.pixel_scale:g}″/px), drawn parameters under each image")
    save(fig, out)
