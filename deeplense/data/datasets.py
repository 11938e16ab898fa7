"""Lazy operations on dataset stores: filter samples by a physics parameter, concatenate stores.
Images stay Dask arrays throughout; only the small per-sample records are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from deeplense.storage.dataset_store import StoreError, open_dataset


Condition = float | str | tuple[float, float] | list


def select_samples(ds: xr.Dataset, **conditions: Condition) -> xr.Dataset:
    """Samples whose record fields match: ``field=value``, ``field=(low, high)`` (inclusive) or
    ``field=[v1, v2, ...]`` (any of them). ``label`` takes class names as well as class indices
    (the position of the class in ``ds.attrs["classes"]``).

    >>> select_samples(ds, label="vortex", vortex_length=(1.0, 2.0))

    A field that none of the selected classes records (a vortex length of a CDM image) is an
    error naming the classes that do record it, never a silent empty selection.
    """
    classes = list(ds.attrs.get("classes", []))
    fields = sorted(v for v in ds.variables if ds[v].dims == ("sample",))
    for name in conditions:
        if name not in fields:
            raise KeyError(f"no per-sample field {name!r}; available: {', '.join(fields)}")
    labels = ds["label"].values
    keep = np.ones(ds.sizes["sample"], dtype=bool)
    if "label" in conditions:
        keep &= _matches(labels, _class_indices(conditions["label"], classes))
    for name, cond in conditions.items():
        if name == "label":
            continue
        values = ds[name].values  # 1-D record: cheap to read
        recorded = ~np.isnan(values) if np.issubdtype(values.dtype, np.floating) else np.ones(values.size, dtype=bool)
        if not recorded[keep].any():
            selected = sorted({classes[i] for i in np.unique(labels[keep])}) if classes else []
            recording = [classes[i] for i in np.unique(labels[recorded])] if classes else []
            raise ValueError(
                f"field {name!r} is not recorded for the selected classes {selected}; "
                f"classes that record it: {', '.join(recording) or 'none'} (select them with label=...)"
            )
        keep &= _matches(values, cond)
    return ds.isel(sample=np.flatnonzero(keep))


def _class_indices(cond: Condition, classes: list[str]) -> Condition:
    """A label condition with class names replaced by their indices in the store's class order."""
    def index(value):
        if isinstance(value, str):
            if value not in classes:
                raise ValueError(f"label {value!r} is not a class of this store; classes (label = position): {classes}")
            return classes.index(value)
        if not 0 <= int(value) < len(classes):
            raise ValueError(f"label {value!r} is out of range; classes (label = position): {classes}")
        return int(value)

    if isinstance(cond, list):
        return [index(v) for v in cond]
    if isinstance(cond, tuple):
        return tuple(index(v) for v in cond)
    return index(cond)


def _matches(values: np.ndarray, cond: Condition) -> np.ndarray:
    if isinstance(cond, tuple):
        low, high = cond
        return (values >= low) & (values <= high)
    if isinstance(cond, list):
        return np.isin(values, cond)
    return values == cond


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
