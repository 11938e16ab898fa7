"""One simulation shard as its own small Zarr store, written atomically by its job (no locks)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from deeplense.atomic import atomic_path
from deeplense.pause_points import pause_point


@dataclass(frozen=True)
class ShardResult:
    """The images of one shard and their records, as simulation hands them to storage."""

    images: np.ndarray  # (n, band, y, x) float32
    index_in_class: np.ndarray  # (n,) int64
    seeds: np.ndarray  # (n,) uint64
    records: dict[str, np.ndarray]  # field -> (n,) float64, NaN where a field does not apply


def shard_to_xarray(
    result: ShardResult, class_name: str, fields: dict[str, dict[str, str]], renderer: dict[str, str] | None = None
) -> xr.Dataset:
    """The shard's images and records along a ``sample`` dimension (index within the class);
    ``fields``: each record field's attributes (``units`` and ``description``, as
    ``physics.records.record_attrs``); ``renderer``: the backend and its version, as
    ``backends.backend_provenance``."""
    data_vars = {
        "image": (("sample", "band", "y", "x"), result.images),
        "seed": ("sample", result.seeds),
    }
    for key, values in result.records.items():
        data_vars[key] = ("sample", values, {"units": "", "description": "", **fields.get(key, {})})
    ds = xr.Dataset(data_vars, coords={"index_in_class": ("sample", result.index_in_class)})
    ds.attrs["class_name"] = class_name
    if renderer is not None:
        ds.attrs["renderer"] = renderer
    return ds


def write_zarr(ds: xr.Dataset, path: Path, encoding: dict | None = None) -> None:
    """Write a Zarr v3 store with consolidated metadata, so a plain ``xr.open_zarr`` opens it."""
    with warnings.catch_warnings():
        # zarr warns that consolidated metadata is not yet in the v3 spec; xarray reads it.
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        ds.to_zarr(path, mode="w", zarr_format=3, consolidated=True, encoding=encoding or {})


def write_shard(
    result: ShardResult, path: str | Path, class_name: str, fields: dict[str, dict[str, str]], renderer: dict[str, str] | None = None
) -> None:
    """Write one shard; it appears at ``path`` only once complete."""
    with atomic_path(path) as tmp:
        write_zarr(shard_to_xarray(result, class_name, fields, renderer), tmp)
    pause_point("simulate.shard_written")


def open_shard(path: str | Path) -> xr.Dataset:
    return xr.open_zarr(path)
