"""The prediction store: a Zarr group of the model's outputs, one row per input image, aligned with
the input's identifiers (``id``), and the provenance of both in its attributes.

It is written at ``OUT.zarr.partial`` block by block, each block by whichever Dask worker computed
it, into its own chunks (no two writers share a chunk file), and a block is marked done in
``written`` only after its rows are. A rerun after a kill computes only the blocks not yet marked;
the finished store is renamed to ``OUT.zarr`` in one step, so ``OUT.zarr`` is always complete.
xarray opens it (``xr.open_zarr``): every array names its dimensions.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from deeplense.predict.model import OutputField

WRITTEN = "written"  # one flag per block
CSV_MAX_ROWS = 100_000  # a CSV is written beside the store when it has at most this many rows
FORMAT = "deeplense-predictions"
FIELD_NAMES = ("probs", "predicted_class", "predicted_class_name", "y_pred", "y_sigma", "score", "mean", "std", "q16", "q50", "q84")
LABEL_NAMES = ("label", "label_name")  # the true class of a deeplense store's images, written with the ids
# Column prefixes of per-target arrays in the table (``y_pred`` is the bare target name).
TABLE_PREFIX = {"y_sigma": "sigma_", "mean": "mean_", "std": "std_", "q16": "q16_", "q50": "q50_", "q84": "q84_"}
FORMAT_VERSION = 1


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def csv_path(final: Path) -> Path:
    return final.with_suffix(".csv")


def _dims(field: OutputField) -> tuple[str, ...]:
    draw = ("draw",) if field.draws else ()
    return ("sample", *draw) if field.columns is None else ("sample", *draw, "class" if field.name == "probs" else "target")


def _fill(dtype: str) -> Any:
    return np.nan if dtype.startswith("float") else ("" if dtype == "str" else -1)


def create(final: Path, fields: list[OutputField], ids: np.ndarray, block: int, attrs: dict[str, Any],
           known: dict[str, tuple[np.ndarray, str]] | None = None) -> np.ndarray:
    """Open the partial store of ``final`` for these outputs, or start it; returns the done flag of
    every block. ``known``: per-row arrays written now, with the ids (name → values, description:
    a store's true labels). A partial store of another model, input or setting (its
    ``fingerprint``) is started over, with a message."""
    part = partial_path(final)
    n = int(ids.size)
    n_blocks = -(-n // block) if n else 0
    if part.exists():
        try:
            found = zarr.open_group(str(part), mode="r")
            if found.attrs.get("fingerprint") == attrs["fingerprint"]:
                return np.asarray(found[WRITTEN][:], dtype=bool)
        except Exception:  # unreadable leftovers of a killed writer: start over
            pass
        print(f"{part}: left by a run of another model, input or setting; starting it over")
        shutil.rmtree(part)
    tmp = final.with_name(f".{final.name}.new-{uuid.uuid4().hex[:8]}")
    group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
    group.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, **attrs, "complete": False})
    id_dtype = np.int64 if np.issubdtype(ids.dtype, np.integer) else str
    arr = group.create_array("id", shape=(n,), chunks=(max(block, 1),), dtype=id_dtype, dimension_names=("sample",))
    arr.attrs["description"] = "the input's identifier of each image (store sample index, file name, file.npy[i])"
    arr[:] = ids.astype(np.int64) if id_dtype is np.int64 else ids.astype(str)
    for name, (values, description) in (known or {}).items():
        dtype = str if values.dtype.kind == "U" else values.dtype
        a = group.create_array(name, shape=(n,), chunks=(max(block, 1),), dtype=dtype, dimension_names=("sample",))
        a.attrs.update({"description": description, "coordinates": "id"})
        a[:] = values
    for f in fields:
        shape = (n, *f.shape())
        a = group.create_array(f.name, shape=shape, chunks=(max(block, 1), *shape[1:]), dtype=str if f.dtype == "str" else f.dtype,
                               dimension_names=_dims(f), fill_value=_fill(f.dtype))
        # `coordinates` (CF): xarray labels each row with its input identifier
        a.attrs.update({"description": f.description, "coordinates": "id"} | ({"columns": f.columns} if f.columns else {}))
        if f.columns and _dims(f)[-1] not in group:  # the column labels (class or target names)
            group.create_array(_dims(f)[-1], shape=(len(f.columns),), dtype=str, dimension_names=_dims(f)[-1:])[:] = np.asarray(f.columns)
    group.create_array(WRITTEN, shape=(n_blocks,), chunks=(1,), dtype=bool, dimension_names=("block",), fill_value=False)
    os.replace(tmp, part)
    return np.zeros(n_blocks, dtype=bool)


def update_provenance(final: Path, entries: dict[str, Any]) -> None:
    """Add ``entries`` to the partial store's ``provenance`` attribute (how this run executes)."""
    group = zarr.open_group(str(partial_path(final)), mode="r+")
    group.attrs["provenance"] = {**group.attrs["provenance"], **entries}


def write_block(final: Path, block_index: int, start: int, outputs: dict[str, np.ndarray]) -> None:
    """Write one block's rows, then mark it done (a kill in between leaves it not done)."""
    group = zarr.open_group(str(partial_path(final)), mode="r+")
    for name, values in outputs.items():
        group[name][start:start + values.shape[0]] = values
    group[WRITTEN][block_index] = True


def finish(final: Path, fields: list[OutputField], csv: bool | None = None) -> Path:
    """Mark the partial store complete, rename it to ``final`` (replacing an older one) and write
    the CSV beside it (by default when it has at most ``CSV_MAX_ROWS`` rows)."""
    part = partial_path(final)
    group = zarr.open_group(str(part), mode="r+")
    missing = np.flatnonzero(~np.asarray(group[WRITTEN][:], dtype=bool))
    if missing.size:
        raise RuntimeError(f"{part}: blocks {missing[:5].tolist()} are not written")
    group.attrs["complete"] = True
    with warnings.catch_warnings():  # "not part of the Zarr v3 spec": xarray reads it, and zarr without it
        warnings.simplefilter("ignore", category=UserWarning)
        zarr.consolidate_metadata(str(part))
    if final.exists():
        trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, trash)
        os.replace(part, final)
        shutil.rmtree(trash)
    else:
        os.replace(part, final)
    n = int(zarr.open_group(str(final), mode="r")["id"].shape[0])
    if csv if csv is not None else n <= CSV_MAX_ROWS:
        tmp = csv_path(final).with_name(f".{csv_path(final).name}.tmp")
        table(final, fields).to_csv(tmp, index=False)
        os.replace(tmp, csv_path(final))
    return final


def is_complete(final: Path, fingerprint: str) -> bool:
    """Whether ``final`` is a finished prediction store of this model, input and setting."""
    if not final.exists():
        return False
    try:
        attrs = zarr.open_group(str(final), mode="r").attrs
    except Exception:
        return False
    return bool(attrs.get("complete")) and attrs.get("fingerprint") == fingerprint


def table(final: Path, fields: list[OutputField] | None = None):
    """The predictions as a pandas table: ``id`` then one column per output value
    (``p_<class>``, ``predicted_class`` numbered in the model's class order and
    ``predicted_class_name``, ``<target>``, ``sigma_<target>``, ``score``; for a posterior
    ``mean_<target>``, ``std_<target>``, ``q16_``/``q50_``/``q84_<target>``), then, for a
    deeplense store's images, the true ``label`` (the model's numbering, -1 for another class) and
    ``label_name``."""
    import pandas as pd

    group = zarr.open_group(str(final), mode="r")
    columns: dict[str, Any] = {"id": np.asarray(group["id"][:])}
    names = [f.name for f in fields if not f.draws] if fields else [k for k in FIELD_NAMES if k in group]
    for name in names:  # posterior draws stay in the store: a table row per image holds their summaries
        arr, cols = np.asarray(group[name][:]), group[name].attrs.get("columns")
        if name == "probs":
            columns |= {f"p_{c}": arr[:, i] for i, c in enumerate(cols)}
        elif cols:
            prefix = TABLE_PREFIX.get(name, "")
            columns |= {f"{prefix}{c}": arr[:, i] for i, c in enumerate(cols)}
        else:
            columns[name] = arr
    for name in LABEL_NAMES:
        if name in group:
            columns[name] = np.asarray(group[name][:])
    return pd.DataFrame(columns)


def read_attrs(final: Path) -> dict[str, Any]:
    """The store's attributes (provenance) as plain data."""
    return json.loads(json.dumps(dict(zarr.open_group(str(final), mode="r").attrs)))
