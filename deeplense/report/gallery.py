"""A grid of example images per class, with the drawn physics under each image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deeplense.report.style import figure, save
from deeplense.storage.dataset_store import open_dataset

# Record fields shown under gallery images, when the image has them.
CAPTION_FIELDS = (
    ("lens_theta_E", "θE={:.2f}″"),
    ("snr", "SNR={:.0f}"),
    ("n_subhalos", "N={:.0f}"),
    ("sub_mass_total", "Msub={:.1e}"),
    ("log_mc", "log mhm={:.1f}"),
    ("log10_m_axion", "log ma={:.1f}"),
)


def plot_gallery(store: str | Path, out: str | Path, per_class: int) -> None:
    """First ``per_class`` images of each class (deterministic), one row per class, band 0."""
    ds = open_dataset(store)
    classes = list(ds.attrs["classes"])
    labels = ds["label"].values
    fig, axes = figure(len(classes), per_class, figsize=(1.9 * per_class, 2.2 * len(classes)), squeeze=False)
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
            words = [fmt.format(float(rec[key].values[col])) for key, fmt in CAPTION_FIELDS if key in rec and np.isfinite(rec[key].values[col])]
            ax.set_xlabel("\n".join(" ".join(words[i : i + 2]) for i in range(0, len(words), 2)), fontsize=7)
            if col == 0:
                ax.set_ylabel(name, fontsize=11)
    fig.suptitle(f"dataset {ds.attrs['dataset']}: examples per class ({ds.sizes['y']}×{ds.sizes['x']} px)")
    save(fig, out)
