"""The combined dataset store: every class's shards in one chunked, compressed Zarr v3 store with
labels, records, units, provenance and a content hash, validated before anything reads it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from zarr.codecs import BloscCodec, ZstdCodec

from deeplense.config import StorageSettings
from deeplense.errors import DeeplenseError
from deeplense.pause_points import pause_point
from deeplense.atomic import atomic_path
from deeplense.storage.provenance import STORE_FORMAT_VERSION, StoreAttrs, software_versions
from deeplense.storage.shard_store import open_shard, write_zarr

FORMAT_VERSION = STORE_FORMAT_VERSION
# Per-sample records (labels, seeds, drawn parameters) are tiny: large chunks keep file counts low.
RECORD_CHUNK = 65536


@dataclass(frozen=True)
class StoreLayout:
    """How the image array is cut on disk: chunks of whole images, optionally grouped in shards."""

    chunk_images: int
    shard_images: int | None  # None: one file per chunk


def store_layout(n_images: int, image_shape: tuple[int, int, int], storage: StorageSettings) -> StoreLayout:
    """Chunk size from the settings; Zarr sharding once the chunk count passes the threshold."""
    image_bytes = int(np.prod(image_shape)) * 4
    chunk = min(storage.images_per_chunk(image_bytes), max(n_images, 1))
    n_chunks = -(-n_images // chunk)
    if n_chunks <= storage.shard_above_chunks:
        return StoreLayout(chunk, None)
    per_shard = -(-n_chunks // storage.shard_above_chunks)
    return StoreLayout(chunk, chunk * per_shard)


def compressors(codec: str, level: int) -> list:
    """Zarr v3 codecs for a ``StorageSettings.codec`` name."""
    if codec == "blosc_zstd":
        return [BloscCodec(cname="zstd", clevel=level, shuffle="bitshuffle")]
    if codec == "blosc_lz4":
        return [BloscCodec(cname="lz4", clevel=min(level, 9), shuffle="bitshuffle")]
    if codec == "zstd":
        return [ZstdCodec(level=level)]
    if codec == "none":
        return []
    raise ValueError(f"unknown codec {codec!r}; allowed: blosc_zstd, zstd, blosc_lz4, none")


def image_encoding(layout: StoreLayout, image_shape: tuple[int, int, int], storage: StorageSettings) -> dict:
    enc: dict[str, Any] = {
        "compressors": compressors(storage.codec, storage.compression_level),
        "chunks": (layout.chunk_images, *image_shape),
        "fill_value": np.float32(np.nan),  # a missing chunk reads as NaN, never as plausible zeros
    }
    if layout.shard_images:
        enc["shards"] = (layout.shard_images, *image_shape)
    return enc


class StoreError(DeeplenseError):
    """A store or shard that is missing, incomplete or corrupt; the message names it."""


@dataclass(frozen=True)
class ClassShards:
    """The shard stores of one class, and how many images they must hold together."""

    name: str
    n_images: int
    paths: list[Path]


def _load_class(cls: ClassShards, expected_shape: tuple[int, ...]) -> xr.Dataset:
    parts = []
    for path in cls.paths:
        if not Path(path).exists():
            raise StoreError(f"shard {path} of class {cls.name!r} is missing")
        try:
            part = open_shard(path)
        except Exception as e:  # zarr raises many types for a broken store
            raise StoreError(f"shard {path} of class {cls.name!r} cannot be opened: {e}") from e
        shape = tuple(part["image"].shape[1:])
        if shape != expected_shape:
            raise StoreError(f"shard {path}: image shape {shape}, expected {expected_shape} (band, y, x)")
        parts.append(part)
    ds = xr.concat(parts, dim="sample", data_vars="all", coords="different", compat="equals", join="outer")
    index = ds["index_in_class"].values
    if not np.array_equal(np.sort(index), np.arange(cls.n_images)):
        raise StoreError(
            f"class {cls.name!r}: shards {', '.join(map(str, cls.paths))} hold {index.size} images, "
            f"expected indices 0..{cls.n_images - 1} exactly once"
        )
    return ds.isel(sample=np.argsort(index, kind="stable"))


def _with_all_fields(parts: list[xr.Dataset]) -> list[xr.Dataset]:
    """Give every class the record fields of all classes, NaN where a field does not apply
    (a vortex length means nothing for a CDM image)."""
    fields: dict[str, dict] = {}
    for part in parts:
        for name, var in part.data_vars.items():
            if var.dims == ("sample",):
                fields.setdefault(name, dict(var.attrs))
    out = []
    for part in parts:
        missing = {
            name: ("sample", np.full(part.sizes["sample"], np.nan), attrs)
            for name, attrs in fields.items()
            if name not in part
        }
        out.append(part.assign(missing))
    return out


def content_hash(images: xr.DataArray) -> str:
    """sha256 of the images' float32 bytes in sample order, read chunk by chunk."""
    h = hashlib.sha256()
    data = images.data
    for block in data.blocks if hasattr(data, "blocks") else [data]:
        arr = np.ascontiguousarray(np.asarray(block), dtype="<f4")
        h.update(arr.tobytes())
    return "sha256:" + h.hexdigest()


def combine_shards(
    classes: list[ClassShards],
    out: str | Path,
    *,
    dataset_name: str,
    dataset_config: dict[str, Any],
    seed: int,
    image_shape: tuple[int, int, int],
    storage: StorageSettings,
    renderer: dict[str, str] | None = None,
) -> str:
    """Validate all shards of a dataset and write the combined store at ``out``; returns its hash.
    ``renderer`` (the backend that drew the images and its version) goes into the attributes.

    Samples are ordered by class (config order) then index within the class; ``label`` is the
    class position, ``attrs['classes']`` the names. Nothing appears at ``out`` unless all is valid.
    """
    parts = [_load_class(c, image_shape) for c in classes]
    for c, part in zip(classes, parts):
        bad = ~np.isfinite(part["image"]).all(dim=("band", "y", "x")).values
        if bad.any():
            first = int(part["index_in_class"].values[np.argmax(bad)])
            raise StoreError(f"class {c.name!r}: {int(bad.sum())} images with NaN or inf (first: index {first})")
    labels = [np.full(part.sizes["sample"], i, dtype=np.int16) for i, part in enumerate(parts)]
    parts = _with_all_fields(parts)
    ds = xr.concat(parts, dim="sample", data_vars="all", coords="different", compat="equals", join="outer")
    n = ds.sizes["sample"]
    ds = ds.assign(label=("sample", np.concatenate(labels), {"units": "class index", "classes": [c.name for c in classes]}))
    _, ny, nx = image_shape
    pixel_scale = float(dataset_config["instrument"]["pixel_scale"])
    ds = ds.assign_coords(
        sample=np.arange(n, dtype=np.int64),
        band=np.arange(image_shape[0], dtype=np.int64),
        y=("y", (np.arange(ny) - (ny - 1) / 2) * pixel_scale, {"units": "arcsec"}),
        x=("x", (np.arange(nx) - (nx - 1) / 2) * pixel_scale, {"units": "arcsec"}),
    )
    ds["image"].attrs.update({"units": "counts/s", "description": "noisy image (band, y, x)"})
    ds["seed"].attrs.update({"description": "64-bit seed of the image's random streams"})
    layout = store_layout(n, image_shape, storage)
    # Dask chunks of the image are the unit of writing: one shard (or one chunk) each, rechunked
    # straight from the shards' chunks. Merged first into the records' single chunk, every block the
    # hash reads would rebuild all the images: time quadratic in their number, and the whole
    # dataset in memory at once.
    image = ds["image"].chunk({"sample": layout.shard_images or layout.chunk_images, "band": -1, "y": -1, "x": -1})
    ds = ds.chunk({"sample": RECORD_CHUNK})
    ds["image"] = image
    digest = content_hash(ds["image"])
    ds.attrs = StoreAttrs(
        format_version=FORMAT_VERSION,
        dataset=dataset_name,
        classes=[c.name for c in classes],
        seed=seed,
        config=dataset_config,
        software=software_versions(),
        content_hash=digest,
        renderer=renderer,
    ).to_attrs()
    for var in ds.variables.values():
        var.encoding = {}
    encoding = {"image": image_encoding(layout, image_shape, storage)}
    with atomic_path(out) as tmp:
        write_zarr(ds, tmp, encoding)
        pause_point("store.before_rename")
    return digest


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a deeplense dataset store lazily (xarray + Dask), checking its format version."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"dataset store {path} does not exist")
    try:
        ds = xr.open_zarr(path)
    except Exception as e:
        raise StoreError(f"dataset store {path} cannot be opened as Zarr: {e}") from e
    version = ds.attrs.get("format_version")
    if version != FORMAT_VERSION:
        raise StoreError(f"dataset store {path}: format_version {version!r}, this deeplense reads {FORMAT_VERSION}")
    return ds


def store_attrs(ds: xr.Dataset, path: str | Path) -> StoreAttrs:
    """The typed attributes of the opened store ``ds`` (read from ``path``)."""
    return StoreAttrs.parse(dict(ds.attrs), path)
