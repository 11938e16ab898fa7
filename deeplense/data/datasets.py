"""Lazy operations on dataset stores: filter samples by a physics parameter, concatenate stores.
Images stay Dask arrays throughout; only the small per-sample records are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from deeplense.storage.dataset_store import StoreError, open_dataset


def select_samples(ds: xr.Dataset, **conditions: float | tuple[float, float]) -> xr.Dataset:
    """Samples whose record fields match: ``field=value`` or ``field=(low, high)`` (inclusive).

    >>> select_samples(ds, label=2, vortex_length=(0.5, 1.0))
    """
    keep = np.ones(ds.sizes["sample"], dtype=bool)
    for name, cond in conditions.items():
        if name not in ds.variables or ds[name].dims != ("sample",):
            fields = sorted(v for v in ds.variables if ds[v].dims == ("sample",))
            raise KeyError(f"no per-sample field {name!r}; available: {', '.join(fields)}")
        values = ds[name].values  # 1-D record: cheap to read
        if isinstance(cond, tuple):
            low, high = cond
            keep &= (values >= low) & (values <= high)
        else:
            keep &= values == cond
    return ds.isel(sample=np.flatnonzero(keep))


def concat_datasets(stores: list[str | Path]) -> xr.Dataset:
    """Several stores as one lazy dataset along ``sample``; a ``source`` coordinate names each
    sample's store. All stores must hold the same classes in the same order (labels agree)."""
    if not stores:
        raise ValueError("concat_datasets needs at least one store")
    parts = [open_dataset(s) for s in stores]
    reference = list(parts[0].attrs["classes"])
    for store, part in zip(stores[1:], parts[1:]):
        classes = list(part.attrs["classes"])
        if classes != reference:
            lacking = [c for c in reference if c not in classes]
            extra = [c for c in classes if c not in reference]
            problem = (
                f"lacks class(es) {lacking} of {stores[0]}" if lacking
                else f"has class(es) {extra} that {stores[0]} lacks" if extra
                else f"orders its classes {classes}, {stores[0]} orders them {reference}"
            )
            raise StoreError(f"dataset store {store} {problem}: labels would not agree")
    parts = [p.assign_coords(source=("sample", np.full(p.sizes["sample"], str(s)))) for s, p in zip(stores, parts)]
    out = xr.concat(parts, dim="sample", data_vars="all", coords="different", compat="equals", join="outer", combine_attrs="drop")
    out = out.assign_coords(sample=np.arange(out.sizes["sample"]))
    out.attrs = {"classes": reference, "sources": [str(s) for s in stores], "content_hashes": [p.attrs["content_hash"] for p in parts]}
    return out
