"""Normalisation statistics computed lazily with Dask over the training split only."""

from __future__ import annotations

import dask
import numpy as np
import xarray as xr


def image_stats(ds: xr.Dataset, indices: np.ndarray) -> dict[str, list[float]]:
    """Per-band mean and standard deviation of the images ``indices`` (streamed chunk by chunk)."""
    images = ds["image"].isel(sample=np.sort(indices))
    with dask.config.set(scheduler="synchronous"):
        mean = images.mean(dim=("sample", "y", "x"), dtype="float64").values
        std = images.std(dim=("sample", "y", "x"), dtype="float64").values
    std = np.where(std > 0, std, 1.0)
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
