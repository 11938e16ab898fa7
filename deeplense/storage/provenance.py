"""Provenance: the software versions and git commit recorded with every store and model, and the
typed, versioned records that carry them (checkpoint, train_info.json, metrics.json, store
attributes), so any number traces back to code and data."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

import deeplense
from deeplense.errors import DeeplenseError

TRACKED_PACKAGES = ("lenstronomy", "pyHalo", "colossus", "numpy", "scipy", "astropy", "zarr", "xarray", "dask")


def software_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of deeplense and the packages its outputs depend on."""
    out = {"deeplense": deeplense.__version__}
    for name in TRACKED_PACKAGES + extra:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The commit of the deeplense checkout that produced an output (``+dirty`` with uncommitted
    changes), or "unknown" outside a git checkout; never fails."""
    import subprocess
    from pathlib import Path

    root = Path(deeplense.__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# Typed provenance records: writers build one of these models and dump it; readers parse it back
# and use attributes. A record of another schema version is refused, naming the file and versions.

SCHEMA_VERSION = 1
STORE_FORMAT_VERSION = 1  # a dataset store's version lives in its `format_version` attribute


class ProvenanceError(DeeplenseError):
    """A provenance record (metrics.json, train_info.json, checkpoint, store attributes) that this
    deeplense cannot read; the message names the file, the field and what is allowed."""


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc'])) or '(top level)'}: {err['msg']}" for err in e.errors())


class Record(BaseModel):
    """A versioned provenance record. Unknown fields are refused (a renamed field fails loudly),
    except where a subclass says otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
    kind: ClassVar[str] = "provenance record"

    schema_version: int = SCHEMA_VERSION

    @classmethod
    def parse(cls, data: Any, source: str | Path) -> Self:
        """The record in ``data`` (read from ``source``); any schema version but the current one is refused."""
        if not isinstance(data, dict):
            raise ProvenanceError(f"{source}: a {cls.kind} must be a JSON object, found {type(data).__name__}")
        found = data["schema_version"] if "schema_version" in data else None
        if type(found) is not int or found != SCHEMA_VERSION:
            raise ProvenanceError(
                f"{source}: {cls.kind} has schema_version {found!r}, this deeplense reads schema_version {SCHEMA_VERSION} "
                "only; it was written by another deeplense version: rerun the step that writes it (delete the file, "
                "or snakemake --forcerun the rule)"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ProvenanceError(
                f"{source}: not a {cls.kind} ({_problems(e)}); allowed fields: {', '.join(cls.model_fields)}"
            ) from None

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """The record stored as JSON at ``path``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ProvenanceError(f"{cls.kind} {path} does not exist") from None
        except json.JSONDecodeError as e:
            raise ProvenanceError(f"{path}: a {cls.kind} must be JSON ({e})") from None
        return cls.parse(data, path)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (python mode, so NaN metric values stay NaN rather than null)."""
        return self.model_dump()

    def to_json(self) -> str:
        """The record as the file holds it: indented JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


class CheckpointInfo(Record):
    """What a checkpoint holds beside its weights: all evaluation needs to rebuild and trace the model."""

    kind: ClassVar[str] = "checkpoint"

    architecture: str
    architecture_args: dict[str, Any]
    task: str
    task_state: dict[str, Any]
    in_chans: int
    img_size: int
    num_outputs: int
    classes: list[str]
    normalisation: dict[str, list[float]]
    epoch: int
    selected_by: str
    monitor: str
    monitor_value: float | None
    seed: int
    threads: int
    device: str
    config_hash: str
    dataset: str
    dataset_hash: str
    # The training images' grid, which `deeplense predict` checks new images against (None in
    # checkpoints written before deeplense recorded it).
    pixel_scale: float | None = None  # arcsec/pixel
    bands: list[str] | None = None

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], source: str | Path) -> Self:
        """The record of a loaded checkpoint, its tensors (``model_state``) left aside."""
        return cls.parse({k: v for k, v in state.items() if k != "model_state"}, source)


class TrainInfo(Record):
    """train_info.json: a training run's config, data, split sizes, checkpoint selection and software."""

    kind: ClassVar[str] = "train_info.json"

    model: str
    config: dict[str, Any]
    config_hash: str
    seed: int
    split: dict[str, float]
    dataset: str
    dataset_hash: str
    store: str
    task: dict[str, Any]
    classes: list[str]
    split_sizes: dict[str, int]
    image_shape: tuple[int, int, int]
    train_per_class: dict[str, int]
    normalisation: dict[str, list[float]]
    best_epoch: int
    checkpoint_epoch: int
    checkpoint: str
    monitor: dict[str, float | None]
    epochs_run: int
    stopped_early: bool
    device: str
    mixed_precision: str | None
    threads: int
    software: dict[str, str]
    git_commit: str
    # The CPU kind it trained on (model, vector flags, torch's kernel level): CPU training is
    # bit-identical only on the same kind. None in records written before deeplense recorded it.
    cpu: dict[str, Any] | None = None

    def smallest_train_class(self) -> int:
        """Training images of the smallest class it learnt from (anomaly: the normal class)."""
        return min(n for n in self.train_per_class.values() if n > 0)


class EvalProvenance(Record):
    """The provenance of an evaluation (metrics.json's ``provenance``): model, datasets and their
    hashes, config hash, seed, checkpoint epoch, software and git commit."""

    kind: ClassVar[str] = "evaluation provenance"

    model: str
    task: str
    architecture: str
    train_dataset: str
    train_dataset_hash: str
    dataset: str
    dataset_hash: str
    dataset_preset: str
    config_hash: str
    seed: int
    checkpoint_epoch: int
    split_fractions: dict[str, float]
    software: dict[str, str]
    git_commit: str
    git_dirty: bool


class Interval(BaseModel):
    """A bootstrap interval of one metric; the method's details (level, resamples) ride along."""

    model_config = ConfigDict(extra="allow", frozen=True)

    low: float | None
    high: float | None


class MetricsFile(Record):
    """metrics.json: named identity and provenance fields; the task's metric values (whatever its
    ``evaluate`` returns) are the extra fields, tolerated here and read through :attr:`values`."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())
    kind: ClassVar[str] = "metrics.json"

    model: str
    architecture: str
    task: str
    dataset: str
    train_dataset: str
    dataset_hash: str
    checkpoint_epoch: int
    classes: list[str]
    split: str
    software: dict[str, str]
    n_test: int
    ci: dict[str, Interval] = {}  # a task without bootstrap intervals has none
    provenance: EvalProvenance

    @property
    def values(self) -> dict[str, Any]:
        """The task's metric values (every field that is not a named one)."""
        return dict(self.__pydantic_extra__ or {})


class StoreAttrs(BaseModel):
    """A dataset store's attributes exactly as stores record them (``format_version`` is their
    schema version, kept as is so a store's bytes and content hash do not change)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int
    dataset: str
    classes: list[str]
    seed: int
    config: dict[str, Any]
    software: dict[str, str]
    content_hash: str
    renderer: dict[str, str] | None = None  # stores from the PyAutoLens backend onwards name it

    @classmethod
    def parse(cls, attrs: dict[str, Any], source: str | Path) -> Self:
        """The attributes of the store at ``source``; another format version is refused."""
        found = attrs["format_version"] if "format_version" in attrs else None
        if found != STORE_FORMAT_VERSION:
            raise ProvenanceError(
                f"dataset store {source}: format_version {found!r}, this deeplense reads {STORE_FORMAT_VERSION}: "
                "rerun the store_dataset step that writes it"
            )
        try:
            return cls.model_validate(dict(attrs))
        except ValidationError as e:
            raise ProvenanceError(f"dataset store {source}: attributes invalid ({_problems(e)}); allowed: {', '.join(cls.model_fields)}") from None

    @property
    def instrument(self) -> "StoreInstrument":
        """The instrument the store's images were drawn with."""
        return StoreInstrument.model_validate(self.config["instrument"])

    def to_attrs(self) -> dict[str, Any]:
        """The attributes to write, in the order stores have always written them."""
        out = self.model_dump()
        if self.renderer is None:
            del out["renderer"]
        return out


class StoreInstrument(BaseModel):
    """The fields of a store's instrument config that reports read (the rest is ignored here)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    preset: str
    pixel_scale: float
