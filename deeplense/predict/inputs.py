"""Images to predict on, whatever holds them: a deeplense dataset store (whole or one split), any
Zarr array or xarray dataset, FITS cutouts (astropy), or ``.npy`` stacks.

Every source reads rows ``[start, stop)`` as float32 ``(n, band, y, x)`` arrays, names each row
(store sample index, file name, ``file.npy[i]``), says the pixel scale and the pixel unit when the
input records them (a store's ``image`` units, a FITS ``BUNIT``, a Zarr ``units`` attribute), and
fingerprints its bytes for provenance. A deeplense store gives, by default, only the images of the
classes asked for (the model's), and says each row's true class. A source holds paths and options only, and opens files
lazily, so that it pickles cheaply to Dask workers, which read their own rows.
"""

from __future__ import annotations

import glob as globlib
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deeplense.errors import DeeplenseError

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
ARCSEC_PER_DEGREE = 3600.0


class InputError(DeeplenseError):
    """An input that cannot be predicted on; the message names it and what is allowed."""


class MissingInput(InputError):
    """An input path that names nothing ``deeplense predict`` reads (``argument``: the path or glob
    as given, or the file a glob matched): absent, or of no known kind; ``why`` says which."""

    def __init__(self, argument: str | Path, why: str) -> None:
        super().__init__(f"input {argument}: {why}")
        self.argument, self.why = str(argument), why


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes (a checkpoint's)."""
    h = hashlib.sha256()
    _hash_file(h, path)
    return "sha256:" + h.hexdigest()


def sha256_files(paths: Sequence[Path], root: Path | None = None) -> str:
    """sha256 over the (relative name, content) of each file, in the given order."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path.relative_to(root) if root else path.name).encode() + b"\0")
        _hash_file(h, path)
    return "sha256:" + h.hexdigest()


class ImageSource(ABC):
    """Rows of images with identifiers; see the module docstring."""

    kind: str = "images"

    @property
    @abstractmethod
    def n(self) -> int: ...

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int, int]:
        """(bands, y, x) of every image."""

    @property
    def pixel_scale(self) -> float | None:
        """arcsec per pixel, when the input records it."""
        return None

    @property
    def block_hint(self) -> int | None:
        """Rows that are cheapest to read together (a Zarr chunk), if the layout has any."""
        return None

    @property
    def units(self) -> str | None:
        """The pixel unit the input records (None: none recorded)."""
        return None

    def units_origin(self) -> str | None:
        """Where ``units`` was read, for a message about it (a FITS file's ``BUNIT``)."""
        return None

    @abstractmethod
    def ids(self) -> np.ndarray:
        """One identifier per row (int or str)."""

    @abstractmethod
    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` as float32 ``(n, band, y, x)``."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Kind, path(s) and content hash, for the output's provenance."""


def _as_bchw(images: np.ndarray, where: str) -> np.ndarray:
    """(n, y, x) → (n, 1, y, x); (n, b, y, x) as is; anything else is an error naming ``where``."""
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise InputError(f"{where}: images must be (n, y, x) or (n, band, y, x), found shape {images.shape}")
    return np.ascontiguousarray(images, dtype=np.float32)


@dataclass
class StoreSource(ImageSource):
    """A deeplense dataset store, all of it or the samples ``indices`` (one split), of the classes
    ``classes`` only (None: all); rows are named by store sample index. ``left_out`` counts the
    images of other classes that ``classes`` removed, by class."""

    path: Path
    indices: np.ndarray | None = None
    split: str | None = None
    classes: list[str] | None = None
    kind: str = "deeplense store"
    left_out: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from deeplense.storage.chunk_reader import ChunkReader
        from deeplense.storage.dataset_store import open_dataset, store_attrs

        ds = open_dataset(self.path)
        attrs = store_attrs(ds, self.path)
        self._attrs = {"dataset": attrs.dataset, "content_hash": attrs.content_hash, "pixel_scale": attrs.instrument.pixel_scale,
                       "units": ds["image"].attrs.get("units"), "classes": [str(c) for c in ds.attrs["classes"]]}
        reader = ChunkReader(self.path)
        reader.check_present()
        self._shape = tuple(int(s) for s in reader.array.shape[1:])
        self._chunk = reader.chunk_images
        if self.indices is None:
            self.indices = np.arange(reader.n_samples, dtype=np.int64)
        self.indices = np.sort(np.asarray(self.indices, dtype=np.int64))
        self._labels = np.asarray(ds["label"].values, dtype=np.int64)
        if self.classes is not None:
            store_classes = self._attrs["classes"]
            unknown = [c for c in self.classes if c not in store_classes]
            if len(unknown) == len(self.classes):
                raise InputError(f"{self.path}: holds none of the classes {', '.join(self.classes)} (its classes: "
                                 f"{', '.join(store_classes)}); pass --all-classes to predict on all its images")
            keep = np.isin(self._labels[self.indices], [store_classes.index(c) for c in self.classes if c in store_classes])
            dropped = np.bincount(self._labels[self.indices[~keep]], minlength=len(store_classes))
            self.left_out = {c: int(n) for c, n in zip(store_classes, dropped) if n}
            self.indices = self.indices[keep]

    @property
    def store_classes(self) -> list[str]:
        """The store's class names, in its order (its ``label`` numbering)."""
        return list(self._attrs["classes"])

    def labels(self) -> np.ndarray:
        """Each row's true class, numbered in the store's class order."""
        return self._labels[self.indices]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_reader", "_labels")}  # workers read images only

    @property
    def n(self) -> int:
        return int(self.indices.size)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape  # type: ignore[return-value]

    @property
    def pixel_scale(self) -> float | None:
        return float(self._attrs["pixel_scale"])

    @property
    def block_hint(self) -> int | None:
        return self._chunk if self.split is None and not self.left_out else None  # whole chunks: every sample

    @property
    def units(self) -> str | None:
        return self._attrs["units"]

    def ids(self) -> np.ndarray:
        return self.indices

    def read(self, start: int, stop: int) -> np.ndarray:
        from deeplense.storage.chunk_reader import ChunkReader

        reader = self.__dict__.get("_reader") or ChunkReader(self.path)
        self._reader = reader
        rows = self.indices[start:stop]
        out = np.empty((rows.size, *self.shape), dtype=np.float32)
        chunks = reader.chunk_of(rows)
        for chunk in np.unique(chunks):
            sel = chunks == chunk
            block = reader.read(int(chunk))
            out[sel] = block[rows[sel] - int(reader.bounds[chunk])]
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(Path(self.path).resolve()), "dataset": self._attrs["dataset"], "split": self.split or "all",
                "classes": self.classes or "all", "left_out": self.left_out, "n": self.n, "sha256": self._attrs["content_hash"]}


@dataclass
class ZarrSource(ImageSource):
    """Any Zarr array ``(n, y, x)``/``(n, band, y, x)``, or a variable of an xarray dataset in Zarr
    with named sample (and band) dimensions; rows are named by the sample coordinate when it has one."""

    path: Path
    variable: str | None = None
    sample_dim: str | None = None
    band_dim: str | None = None
    kind: str = "zarr"

    def __post_init__(self) -> None:
        import zarr

        try:
            node = zarr.open(str(self.path), mode="r")
        except Exception as e:
            raise InputError(f"{self.path}: cannot be opened as Zarr: {e}") from e
        if isinstance(node, zarr.Array):
            if self.variable or self.sample_dim or self.band_dim:
                raise InputError(f"{self.path} is a single Zarr array: --variable, --sample-dim and --band-dim are for xarray datasets")
            if node.ndim not in (3, 4):
                raise InputError(f"{self.path}: images must be (n, y, x) or (n, band, y, x), found shape {node.shape}")
            self._dims = None
            shape = node.shape
            self._shape = (1, *shape[1:]) if node.ndim == 3 else tuple(shape[1:])
            self._n = int(shape[0])
            self._chunk = int(node.chunks[0])
            self._scale = node.attrs.get("pixel_scale")
            self._units = node.attrs.get("units")
            return
        self._open_variable()

    def _dataset(self):
        import xarray as xr

        try:
            return xr.open_zarr(self.path, consolidated=None)
        except Exception as e:
            raise InputError(f"{self.path}: cannot be opened as an xarray dataset: {e}") from e

    def _open_variable(self) -> None:
        ds = self._dataset()
        candidates = [v for v in ds.data_vars if ds[v].ndim in (3, 4)]
        name = self.variable or ("image" if "image" in ds.data_vars else (candidates[0] if len(candidates) == 1 else None))
        if name is None or name not in ds.data_vars:
            why = f"no variable {name!r}" if name else "several or no image-like variables"
            raise InputError(f"{self.path}: {why}; name one with --variable; variables of 3 or 4 dimensions: {', '.join(candidates) or 'none'}")
        var = ds[name]
        sample = self.sample_dim or var.dims[0]
        if sample not in var.dims:
            raise InputError(f"{self.path}: variable {name!r} has no dimension {sample!r} (--sample-dim); its dimensions: {', '.join(var.dims)}")
        rest = [d for d in var.dims if d != sample]
        band = self.band_dim
        if band is not None and band not in rest:
            raise InputError(f"{self.path}: variable {name!r} has no dimension {band!r} (--band-dim); its dimensions: {', '.join(var.dims)}")
        if band is None and len(rest) == 3:
            band = rest[0]
        spatial = [d for d in rest if d != band]
        if len(spatial) != 2:
            raise InputError(f"{self.path}: variable {name!r} with dimensions {var.dims} is not images: need {sample!r}, "
                             "optionally a band dimension, and two spatial dimensions")
        self.variable = name
        self._dims = (sample, band, *spatial)
        self._n = int(var.sizes[sample])
        self._shape = (int(var.sizes[band]) if band else 1, int(var.sizes[spatial[0]]), int(var.sizes[spatial[1]]))
        chunks = var.encoding.get("chunks") or var.encoding.get("preferred_chunks", {}).get(sample)
        self._chunk = int(chunks[var.dims.index(sample)]) if isinstance(chunks, tuple | list) else None
        self._scale = var.attrs.get("pixel_scale", ds.attrs.get("pixel_scale"))
        self._units = var.attrs.get("units")
        self._ids = ds[sample].values if sample in ds.coords else None

    @property
    def n(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape  # type: ignore[return-value]

    @property
    def pixel_scale(self) -> float | None:
        return None if self._scale is None else float(self._scale)

    @property
    def block_hint(self) -> int | None:
        return self._chunk

    @property
    def units(self) -> str | None:
        return self._units

    def ids(self) -> np.ndarray:
        ids = getattr(self, "_ids", None)
        return np.arange(self.n, dtype=np.int64) if ids is None else np.asarray(ids)

    def read(self, start: int, stop: int) -> np.ndarray:
        if self._dims is None:
            import zarr

            return _as_bchw(np.asarray(zarr.open_array(str(self.path), mode="r")[start:stop]), str(self.path))
        sample, band, y, x = self._dims
        var = self._dataset()[self.variable].isel({sample: slice(start, stop)})
        if band is None:
            return _as_bchw(var.transpose(sample, y, x).values, str(self.path))
        return _as_bchw(var.transpose(sample, band, y, x).values, str(self.path))

    def describe(self) -> dict[str, Any]:
        files = sorted(p for p in Path(self.path).rglob("*") if p.is_file())
        out = {"kind": self.kind, "path": str(Path(self.path).resolve()), "n": self.n, "sha256": sha256_files(files, Path(self.path))}
        return out | ({"variable": self.variable, "dims": [d for d in self._dims if d]} if self._dims else {})


def _fits_pixel_scale(header) -> float | None:
    """arcsec/pixel from a FITS header: PIXSCALE (arcsec), else |CDELT2| or |CD2_2| (degrees)."""
    if "PIXSCALE" in header:
        return float(header["PIXSCALE"])
    for key in ("CDELT2", "CD2_2"):
        if key in header:
            return abs(float(header[key])) * ARCSEC_PER_DEGREE
    return None


def _fits_units(header) -> str | None:
    """The pixel unit of a FITS header (``BUNIT``), None when absent or blank."""
    unit = str(header.get("BUNIT", "")).strip()
    return unit or None


@dataclass
class FitsSource(ImageSource):
    """FITS cutouts, one image per file (2-D, or 3-D band × y × x), read with astropy from
    extension ``ext`` (default: the first with image data); rows are named by file name."""

    files: list[Path]
    ext: int | str | None = None
    kind: str = "fits"

    def __post_init__(self) -> None:
        if not self.files:
            raise InputError("no FITS file given")
        first, header = self._load(self.files[0])
        self._shape = first.shape
        self._scale = _fits_pixel_scale(header)
        self._units = _fits_units(header)

    def _load(self, path: Path) -> tuple[np.ndarray, Any]:
        from astropy.io import fits

        try:
            with fits.open(path, memmap=False) as hdus:
                if self.ext is not None:
                    try:
                        hdu = hdus[self.ext]
                    except (KeyError, IndexError):
                        names = [h.name for h in hdus]
                        raise InputError(f"{path}: no FITS extension {self.ext!r} (--fits-ext); it has {len(hdus)}: {', '.join(names)}") from None
                else:
                    hdu = next((h for h in hdus if h.data is not None and h.data.ndim in (2, 3)), None)
                    if hdu is None:
                        raise InputError(f"{path}: no extension holds a 2-D or 3-D image")
                data, header = hdu.data, hdu.header
        except OSError as e:
            raise InputError(f"{path}: not a readable FITS file: {e}") from e
        if data is None or data.ndim not in (2, 3):
            raise InputError(f"{path}: extension {self.ext!r} holds {None if data is None else data.shape}; an image must be 2-D (y, x) or 3-D (band, y, x)")
        image = np.asarray(data, dtype=np.float32)
        return (image[None] if image.ndim == 2 else image), header

    @property
    def n(self) -> int:
        return len(self.files)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape  # type: ignore[return-value]

    @property
    def pixel_scale(self) -> float | None:
        return self._scale

    @property
    def units(self) -> str | None:
        return self._units

    def units_origin(self) -> str | None:
        return f"{self.files[0]}: BUNIT" if self._units is not None else None

    def ids(self) -> np.ndarray:
        return np.array([p.name for p in self.files])

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.shape), dtype=np.float32)
        for i, path in enumerate(self.files[start:stop]):
            image, header = self._load(path)
            if image.shape != self.shape:
                raise InputError(f"{path}: image of shape {image.shape}, the first file {self.files[0].name} has {self.shape}; all cutouts must agree")
            scale = _fits_pixel_scale(header)
            if self._scale is not None and scale is not None and not np.isclose(scale, self._scale, rtol=1e-3):
                raise InputError(f"{path}: pixel scale {scale:.4g}″, the first file {self.files[0].name} has {self._scale:.4g}″")
            if _fits_units(header) != self._units:
                raise InputError(f"{path}: pixel unit (BUNIT) {_fits_units(header)!r}, the first file {self.files[0].name} has "
                                 f"{self._units!r}; all cutouts must agree")
            out[i] = image
        return out

    def describe(self) -> dict[str, Any]:
        folders = sorted({str(p.parent.resolve()) for p in self.files})
        return {"kind": self.kind, "path": folders[0] if len(folders) == 1 else folders, "n": self.n, "ext": self.ext,
                "sha256": sha256_files(self.files)}


@dataclass
class NpySource(ImageSource):
    """``.npy`` stacks ``(n, y, x)`` or ``(n, band, y, x)``, one after another (memory-mapped);
    rows are named ``file.npy[i]``."""

    files: list[Path]
    kind: str = "npy"
    _sizes: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        shapes = []
        for path in self.files:
            try:
                arr = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise InputError(f"{path}: not a readable .npy array: {e}") from e
            shapes.append((1, *arr.shape[1:]) if arr.ndim == 3 else tuple(arr.shape[1:]))
            if arr.ndim not in (3, 4):
                raise InputError(f"{path}: images must be (n, y, x) or (n, band, y, x), found shape {arr.shape}")
            if shapes[-1] != shapes[0]:
                raise InputError(f"{path}: images of shape {shapes[-1]}, {self.files[0].name} has {shapes[0]}; all stacks must agree")
            self._sizes.append(int(arr.shape[0]))
        self._shape = shapes[0]
        self._offsets = np.concatenate([[0], np.cumsum(self._sizes)]).astype(np.int64)

    @property
    def n(self) -> int:
        return int(self._offsets[-1])

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape  # type: ignore[return-value]

    def ids(self) -> np.ndarray:
        return np.array([f"{p.name}[{i}]" for p, size in zip(self.files, self._sizes) for i in range(size)])

    def read(self, start: int, stop: int) -> np.ndarray:
        parts = []
        for f, path in enumerate(self.files):
            lo, hi = max(start, self._offsets[f]), min(stop, self._offsets[f + 1])
            if lo < hi:
                arr = np.load(path, mmap_mode="r")
                parts.append(_as_bchw(np.asarray(arr[lo - self._offsets[f]: hi - self._offsets[f]]), str(path)))
        return np.concatenate(parts) if parts else np.empty((0, *self.shape), dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": [str(p.resolve()) for p in self.files], "n": self.n, "sha256": sha256_files(self.files)}


def _is_deeplense_store(path: Path) -> bool:
    import json

    meta = path / "zarr.json"
    if not meta.is_file():
        return False
    attrs = json.loads(meta.read_text()).get("attributes", {})
    return "format_version" in attrs and "content_hash" in attrs


def _where(path: str) -> str:
    """Where a relative path is read from, for a message about a path that is not there."""
    return "" if Path(path).is_absolute() else f" (relative paths are read from the working directory {Path.cwd()})"


def _expand(arguments: Sequence[str | Path]) -> list[Path]:
    """Paths named by the arguments: each a file, a Zarr folder, a folder of FITS files, or a glob."""
    out: list[Path] = []
    for arg in arguments:
        text = str(arg)
        if any(c in text for c in "*?["):
            matches = sorted(Path(m) for m in globlib.glob(text, recursive=True))
            if not matches:
                raise MissingInput(text, "the pattern matches no file" + _where(text))
            out += matches
            continue
        path = Path(text)
        if not path.exists():
            raise MissingInput(path, "does not exist" + _where(text))
        if path.is_dir() and not (path / "zarr.json").exists() and not (path / ".zgroup").exists() and not (path / ".zarray").exists():
            fits = sorted(p for p in path.iterdir() if p.name.lower().endswith(FITS_SUFFIXES))
            if not fits:
                raise MissingInput(path, f"a folder that is neither Zarr nor holds FITS files ({', '.join(FITS_SUFFIXES)})")
            out += fits
            continue
        out.append(path)
    return out


def input_paths(arguments: Sequence[str | Path]) -> tuple[list[Path], str]:
    """The files or Zarr store the command line's INPUT arguments name, and their one kind (store,
    zarr, fits, npy), or an ``InputError`` (a ``MissingInput`` for a path that names nothing to
    read). Reads no image: what ``open_input`` checks first, and the config checks of ``predictions:``."""
    paths = _expand(arguments)
    if not paths:
        raise InputError("no input given")
    kinds = {_kind(p) for p in paths}
    if len(kinds) > 1:
        raise InputError(f"inputs of different kinds ({', '.join(sorted(kinds))}): give FITS files, .npy files, or one Zarr store")
    kind = kinds.pop()
    if kind in ("store", "zarr") and len(paths) > 1:
        raise InputError(f"give one Zarr input, not {len(paths)}: {', '.join(map(str, paths))}")
    return paths, kind


def open_input(
    arguments: Sequence[str | Path],
    *,
    split: str | None = None,
    split_fractions: dict[str, float] | None = None,
    variable: str | None = None,
    sample_dim: str | None = None,
    band_dim: str | None = None,
    fits_ext: int | str | None = None,
    classes: list[str] | None = None,
) -> ImageSource:
    """The source the command line's INPUT arguments name (see the module docstring). ``split``
    (train, val, test) selects samples of a deeplense store by the model's ``split_fractions``;
    ``classes``: of a deeplense store, only images of these classes (None: all)."""
    paths, kind = input_paths(arguments)
    if split is not None and kind != "store":
        raise InputError(f"--split {split} selects samples of a deeplense dataset store; {paths[0]} is {kind}")
    if kind == "store":
        if variable or sample_dim or band_dim:
            raise InputError(f"{paths[0]} is a deeplense dataset store: its images are its `image` variable; --variable, --sample-dim and --band-dim are for other Zarr inputs")
        if split is None:
            return StoreSource(paths[0], classes=classes)
        return _split_source(paths[0], split, split_fractions, classes)
    if kind == "zarr":
        return ZarrSource(paths[0], variable, sample_dim, band_dim)
    if kind == "fits":
        return FitsSource(paths, fits_ext)
    return NpySource(paths)


def _split_source(path: Path, split: str, fractions: dict[str, float] | None, classes: list[str] | None) -> StoreSource:
    from deeplense.data.splits import SPLITS, dataset_splits
    from deeplense.storage.dataset_store import open_dataset

    if split not in SPLITS:
        raise InputError(f"--split {split!r}: allowed: {', '.join(SPLITS)}")
    if fractions is None:
        raise InputError(f"--split {split}: the model's split fractions are unknown (no train_info.json beside its checkpoint)")
    indices = dataset_splits(open_dataset(path), fractions)[split]
    return StoreSource(path, indices, split, classes)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "store" if _is_deeplense_store(path) else "zarr"
    if name.endswith(FITS_SUFFIXES):
        return "fits"
    if name.endswith(".npy"):
        return "npy"
    raise MissingInput(path, "unknown kind; allowed: a Zarr folder (a deeplense store, any Zarr array or xarray dataset), "
                       f"FITS files ({', '.join(FITS_SUFFIXES)}), a folder or glob of them, or .npy stacks")
