"""Human-readable summary of a dataset store, and a full validation pass over it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deeplense.storage.chunk_reader import ChunkReader
from deeplense.storage.dataset_store import StoreError, content_hash, open_dataset


def disk_usage(path: Path) -> tuple[int, int]:
    """(bytes, files) under ``path``."""
    size = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            size += os.path.getsize(os.path.join(root, name))
            files += 1
    return size, files


def summarize(store: str | Path) -> str:
    """Counts per class, parameter ranges with units, chunking, size on disk and provenance."""
    store = Path(store)
    ds = open_dataset(store)
    reader = ChunkReader(store)
    arr = reader.array
    size, files = disk_usage(store)
    raw = int(np.prod(arr.shape)) * arr.dtype.itemsize
    labels = ds["label"].values
    lines = [
        f"store      {store}",
        f"dataset    {ds.attrs['dataset']} (format {ds.attrs['format_version']}, seed {ds.attrs['seed']})",
        f"hash       {ds.attrs['content_hash']}",
        f"images     {tuple(arr.shape)} {arr.dtype} (sample, band, y, x)",
        f"chunks     {arr.chunks[0]} images ({arr.chunks[0] * raw // max(arr.shape[0], 1) / 2**20:.2f} MiB) × {reader.n_chunks}"
        + (f", in shards of {arr.shards[0]}" if arr.shards else ""),
        f"codecs     {', '.join(type(c).__name__ + _codec_args(c) for c in arr.metadata.codecs)}",
        f"on disk    {size / 2**20:.1f} MiB in {files} files (images uncompressed {raw / 2**20:.1f} MiB)",
        "classes",
    ]
    for i, name in enumerate(ds.attrs["classes"]):
        lines.append(f"  {i}  {name:<16} {int((labels == i).sum()):>8} images")
    lines.append("parameters (min – max over images where defined)")
    for name in sorted(v for v in ds.data_vars if ds[v].dims == ("sample",) and v not in ("label",)):
        values = ds[name].values.astype(float)
        finite = values[np.isfinite(values)]
        units = ds[name].attrs.get("units", "")
        rng = f"{finite.min():.4g} – {finite.max():.4g}" if finite.size else "(not defined)"
        lines.append(f"  {name:<18} {rng:<28} [{units}] ({finite.size} images)")
    lines.append("software   " + ", ".join(f"{k} {v}" for k, v in ds.attrs["software"].items()))
    if "renderer" in ds.attrs:  # the backend that drew the images, with its version
        lines.append("renderer   " + ", ".join(f"{k} {v}" for k, v in ds.attrs["renderer"].items()))
    return "\n".join(lines)


def _codec_args(codec) -> str:
    for attr in ("cname", "level", "clevel"):
        if hasattr(codec, attr):
            value = getattr(codec, attr)
            return f"({getattr(value, 'value', value)})"
    return ""


def validate_store(store: str | Path) -> str:
    """Read every chunk: files present, decodable, finite; recomputed hash equals the recorded one."""
    store = Path(store)
    ds = open_dataset(store)
    reader = ChunkReader(store)
    reader.check_present()
    for chunk in range(reader.n_chunks):
        reader.read(chunk)
    digest = content_hash(ds["image"])
    if digest != ds.attrs["content_hash"]:
        raise StoreError(f"dataset store {store}: images hash to {digest}, the store records {ds.attrs['content_hash']}")
    return digest
