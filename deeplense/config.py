"""The experiment config: pydantic models are the single source of defaults, types, docs and the
exported JSON schema (workflow/schemas/config.schema.json).

``load_config`` turns the raw YAML mapping into an ``ExperimentConfig`` or raises ``ConfigError``
naming the field, the bad value and what is allowed, before any job runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from deeplense.physics.distributions import Param
from deeplense.physics.instruments import INSTRUMENTS
from deeplense.physics.scenarios import SCENARIOS

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"  # names become file paths and wildcards


class ConfigError(ValueError):
    """A config that cannot run; the message names the field, the value and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Cosmology(_Strict):
    """Flat ΛCDM."""

    H0: float = Field(70.0, gt=0, description="Hubble constant [km/s/Mpc]")
    Om0: float = Field(0.3, gt=0, lt=1, description="matter density")
    Ob0: float = Field(0.05, ge=0, lt=1, description="baryon density")


class MainLensConfig(_Strict):
    """Main deflector (SIE, or EPL with power-law slope ``gamma``) plus external shear. Give
    ``theta_E`` [arcsec] or ``mass`` [Msun]; a mass is converted with angular-diameter distances
    (the DeepLense recipe). An SIS is an SIE with e1 = e2 = 0. The shear is (gamma1, gamma2), or
    a magnitude ``gamma_ext`` at angle ``psi_ext`` when ``gamma_ext`` is given."""

    profile: Literal["SIE", "EPL"] = "SIE"
    theta_E: Param | None = Field(None, description="Einstein radius [arcsec]")
    mass: Param | None = Field(None, description="mass whose point-mass Einstein radius is theta_E [Msun]")
    gamma: Param = Field(2.0, description="EPL 3-D density slope (2 = isothermal); EPL only")
    e1: Param = 0.1
    e2: Param = 0.0
    center_x: Param = 0.0
    center_y: Param = 0.0
    gamma1: Param = Field(0.05, description="external shear component 1")
    gamma2: Param = Field(0.0, description="external shear component 2")
    gamma_ext: Param | None = Field(None, description="external shear magnitude (replaces gamma1, gamma2)")
    psi_ext: Param = Field({"dist": "uniform", "low": 0.0, "high": 3.141592653589793}, description="shear angle [rad]")

    @model_validator(mode="after")
    def _one_normalisation(self) -> "MainLensConfig":
        if (self.theta_E is None) == (self.mass is None):
            raise ValueError("give exactly one of theta_E or mass")
        return self


class LightConfig(_Strict):
    """Elliptical Sérsic light. Ellipticity as (e1, e2), or as axis ratio ``q`` and angle ``phi``
    when ``q`` is given (e = (1−q)/(1+q) (cos 2φ, sin 2φ), lenstronomy's convention). Centre as
    (center_x, center_y), or polar (``r_offset``, ``phi_offset``) when ``r_offset`` is given."""

    amp: Param = Field(10.0, description="surface brightness at the half-light radius [counts/s/arcsec²]")
    R_sersic: Param = Field(0.25, description="half-light radius [arcsec]")
    n_sersic: Param = 1.0
    e1: Param = 0.0
    e2: Param = 0.0
    q: Param | None = Field(None, description="axis ratio (replaces e1, e2)")
    phi: Param = Field({"dist": "uniform", "low": 0.0, "high": 3.141592653589793}, description="position angle [rad]")
    center_x: Param = 0.0
    center_y: Param = 0.0
    r_offset: Param | None = Field(None, description="centre at this radius from the axis (replaces center_x, center_y) [arcsec]")
    phi_offset: Param = Field({"dist": "uniform", "low": 0.0, "high": 6.283185307179586}, description="angle of r_offset [rad]")


class SourceConfig(LightConfig):
    """The lensed source: an elliptical Sérsic (DeepLense Model I defaults), or ``INTERPOL``: a
    galaxy image drawn uniformly from ``images`` (a folder of .npy/.png/.fits files or one .npy
    array of shape (n, y, x)), each normalised to peak 1, ``scale`` arcsec per image pixel,
    rotated by ``phi_G``; ``amp`` is then the peak surface brightness [counts/s/pixel of it]."""

    profile: Literal["SERSIC_ELLIPSE", "INTERPOL"] = "SERSIC_ELLIPSE"
    e1: Param = -0.1
    e2: Param = 0.1
    center_x: Param = {"dist": "uniform", "low": -0.35, "high": 0.35}
    center_y: Param = {"dist": "uniform", "low": -0.35, "high": 0.35}
    images: str | None = Field(None, description="INTERPOL: folder or .npy file of source images")
    scale: Param = Field(0.02, description="INTERPOL: arcsec per source-image pixel")
    phi_G: Param = Field({"dist": "uniform", "low": 0.0, "high": 6.283185307179586}, description="INTERPOL: rotation [rad]")

    @model_validator(mode="after")
    def _images_for_interpol(self) -> "SourceConfig":
        if self.profile == "INTERPOL":
            if not self.images:
                raise ValueError("profile INTERPOL needs `images`: a folder of .npy/.png/.fits files or an .npy array")
            from deeplense.physics.source_images import load_source_images

            load_source_images(self.images)  # fails now, naming the path, if unreadable
        return self


class BandConfig(_Strict):
    """One band of a multi-band instrument: its name, light scaling relative to the configured
    amplitudes (e.g. 10^(−0.4 Δmag)), and optionally its own PSF and background."""

    name: str = Field(pattern=NAME_PATTERN)
    source_scale: float = Field(1.0, ge=0, description="source amplitude factor in this band")
    lens_light_scale: float = Field(1.0, ge=0, description="lens-light amplitude factor in this band")
    psf_fwhm: float | None = Field(None, gt=0, description="PSF FWHM [arcsec]; default: the instrument's")
    background_rms: float | None = Field(None, ge=0, description="[counts/s]; default: the instrument's")


class InstrumentConfig(_Strict):
    """Pixel grid, Gaussian PSF and noise. ``preset`` fills the fields the config leaves out.
    ``bands`` makes multi-channel images (band, y, x); one unnamed band by default."""

    preset: str = "custom"
    num_pix: int = Field(64, ge=8, le=1024, description="image side [pixels]")
    pixel_scale: float = Field(0.08, gt=0, description="[arcsec/pixel]")
    psf_fwhm: float = Field(0.1, gt=0, description="Gaussian PSF FWHM [arcsec]")
    supersampling: int = Field(1, ge=1, le=8, description="sub-pixels per pixel side when ray-tracing")
    background_rms: float = Field(0.01, ge=0, description="Gaussian background noise [counts/s]")
    exposure_time: Param = Field(1000.0, description="exposure for Poisson noise [s]")
    bands: list[BandConfig] = Field(default_factory=lambda: [BandConfig(name="band0")], min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            name = data.get("preset", "custom")
            if name not in INSTRUMENTS:
                raise ValueError(
                    f"unknown instrument preset {name!r}; allowed: {', '.join(INSTRUMENTS.names())}"
                )
            data = {**INSTRUMENTS.get(name)(), **data}
        return data

    @property
    def num_bands(self) -> int:
        return len(self.bands)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(band, y, x) of every image."""
        return (self.num_bands, self.num_pix, self.num_pix)


class ClassConfig(_Strict):
    """One class of a dataset: a dark-matter scenario with its parameters and image count."""

    name: str = Field(pattern=NAME_PATTERN)
    scenario: str = Field(description="registered dark-matter scenario")
    n_images: int = Field(gt=0, description="number of images of this class")
    params: dict[str, Any] = Field(default_factory=dict, description="the scenario's parameters")

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, name: str) -> str:
        if name not in SCENARIOS:
            raise ValueError(f"unknown dark-matter scenario {name!r}; allowed: {', '.join(SCENARIOS.names())}")
        return name

    @model_validator(mode="after")
    def _scenario_params(self) -> "ClassConfig":
        scenario = SCENARIOS.get(self.scenario)
        # Resolve defaults so the stored config is complete; nested errors keep their field names.
        self.params = scenario.validate_params(self.params).model_dump(mode="json")
        return self


class SplitConfig(_Strict):
    """Fractions of each dataset for training, validation and test (fixed per sample and seed)."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitConfig":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        return self


class DatasetConfig(_Strict):
    """A simulated dataset: one lens/source/instrument set-up and its classes, in a fixed order."""

    z_lens: float = Field(0.5, gt=0)
    z_source: float = Field(1.0, gt=0)
    cosmology: Cosmology = Cosmology()
    lens: MainLensConfig = MainLensConfig(theta_E=1.2)
    lens_light: LightConfig | None = Field(None, description="Sérsic light of the main lens, centre relative to the lens centre (none by default)")
    source: SourceConfig = SourceConfig()
    instrument: InstrumentConfig = InstrumentConfig()
    classes: list[ClassConfig] = Field(min_length=1)
    split: SplitConfig = SplitConfig()
    backend: Literal["lenstronomy", "autolens"] = Field(
        "lenstronomy",
        description="renderer of the images: lenstronomy, or PyAutoLens in its own environment "
        "(`make autolens-env`; see deeplense.simulation.autolens_mapping)",
    )

    @model_validator(mode="after")
    def _checks(self) -> "DatasetConfig":
        if not self.z_lens < self.z_source:
            raise ValueError(f"z_lens ({self.z_lens}) must be below z_source ({self.z_source})")
        if self.backend == "autolens":
            from deeplense.simulation.autolens_mapping import autolens_config_problem

            problem = autolens_config_problem(self.source.profile, [(c.name, c.params) for c in self.classes])
            if problem:
                raise ValueError(problem)
        names = [c.name for c in self.classes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"class names must be unique, repeated: {', '.join(dup)}")
        return self

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


class SimulationSettings(_Strict):
    """How simulation work is cut into jobs. Does not change any image."""

    shard_size: int = Field(200, gt=0, description="images per simulation job")


class StorageSettings(_Strict):
    """Zarr layout of the combined dataset stores. Changes bytes on disk, never image values."""

    chunk_mb: float = Field(4.0, ge=1.0, description="target chunk size [MiB], whole images along `sample`")
    chunk_images: int | None = Field(None, gt=0, description="images per chunk; overrides chunk_mb")
    codec: Literal["blosc_zstd", "zstd", "blosc_lz4", "none"] = Field(
        "blosc_zstd", description="compression: zstd inside Blosc (bit-shuffled), Zarr's own zstd, Blosc lz4, none"
    )
    compression_level: int = Field(3, ge=1, le=22, description="compression level of the codec")
    shard_above_chunks: int = Field(
        1000, gt=0, description="group chunks into Zarr shards when a store would hold more chunk files than this"
    )

    def images_per_chunk(self, image_bytes: int) -> int:
        """Whole images per chunk: ``chunk_images`` or enough images to reach ``chunk_mb``."""
        if self.chunk_images is not None:
            return self.chunk_images
        return max(1, -(-int(self.chunk_mb * 2**20) // image_bytes))


class ModelConfig(_Strict):
    """A network trained on one dataset for one task (classification, regression or anomaly)."""

    architecture: str = Field(description="timm model name or a deeplense-registered architecture")
    architecture_args: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments of the architecture (e.g. fusion backbones, equivariant group order)",
    )
    task: Literal["classification", "regression", "anomaly"] = "classification"
    dataset: str = Field(description="name of a dataset in `datasets`")
    classes: list[str] | None = Field(
        None,
        description="classes of the dataset to use, in the dataset's order (default: all); "
        "regression trains on these, classification tells these apart",
    )
    targets: list[str] = Field(
        default_factory=list,
        description="regression: per-image physics parameters to predict (record fields, e.g. log10_m_axion, theta_E)",
    )
    loss: Literal["cross_entropy", "mse", "mae", "huber", "gaussian_nll"] | None = Field(
        None,
        description="training loss; default cross_entropy (classification), mse (regression); "
        "gaussian_nll also predicts an uncertainty; anomaly models use their own objective",
    )
    normal_class: str = Field("no_sub", description="anomaly: the class the autoencoder trains on")
    epochs: int = Field(5, gt=0)
    batch_size: int = Field(64, gt=0)
    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.05, ge=0)
    optimizer: Literal["adamw", "sgd", "sam"] = Field(
        "adamw", description="sam: sharpness-aware minimisation around SGD with momentum"
    )
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD and SAM momentum")
    sam_rho: float = Field(0.05, gt=0, description="SAM neighbourhood radius")
    scheduler: Literal["cosine", "constant", "onecycle", "plateau", "cyclic"] = "cosine"
    augment: bool = Field(True, description="random flips and 90° rotations (the D4 symmetries)")
    noise_std: float = Field(0.0, ge=0, description="Gaussian noise added to training images, in units of the image std")
    early_stopping: int | None = Field(
        None, gt=0, description="stop after this many epochs without improvement of `monitor` (none: never)"
    )
    monitor: Literal["val_loss", "val_auc", "val_accuracy", "val_mae"] = Field(
        "val_loss", description="validation metric that selects the checkpoint and drives early stopping"
    )
    shuffle_buffer_mb: float = Field(256.0, gt=0, description="memory budget of the shuffle buffer [MiB]")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes (spawned, each streams its own chunks)")
    pretrained: str | None = Field(None, description="local weights file to fine-tune from")
    evaluate_on: list[str] = Field(
        default_factory=list, description="other datasets to evaluate on as well (domain shift), same classes"
    )

    @model_validator(mode="after")
    def _task_fields(self) -> "ModelConfig":
        if self.task == "regression" and not self.targets:
            raise ValueError("task regression needs `targets`: the per-image parameters to predict")
        if self.task != "regression" and self.targets:
            raise ValueError(f"`targets` is for task regression, not {self.task}")
        allowed = {"classification": {"cross_entropy"}, "regression": {"mse", "mae", "huber", "gaussian_nll"}, "anomaly": set()}[self.task]
        if self.loss is not None and self.loss not in allowed:
            raise ValueError(f"loss {self.loss!r} does not fit task {self.task}; allowed: {', '.join(sorted(allowed)) or 'none (the model’s own objective)'}")
        monitors = {"classification": {"val_loss", "val_auc", "val_accuracy"}, "regression": {"val_loss", "val_mae"}, "anomaly": {"val_loss"}}[self.task]
        if self.monitor not in monitors:
            raise ValueError(f"monitor {self.monitor!r} does not fit task {self.task}; allowed: {', '.join(sorted(monitors))}")
        return self

    def training_dump(self) -> dict[str, Any]:
        """The fields that determine the trained weights (not where the model is evaluated)."""
        return self.model_dump(mode="json", exclude={"evaluate_on"})

    def config_hash(self, seed: int, split: dict[str, float]) -> str:
        """sha256 naming the trained model's configuration (see ``model_config_hash``)."""
        return model_config_hash(self.training_dump(), seed, split)

    @property
    def loss_name(self) -> str | None:
        """The loss actually used (the config's, or the task's default)."""
        return self.loss or {"classification": "cross_entropy", "regression": "mse"}.get(self.task)

    @field_validator("architecture")
    @classmethod
    def _known_architecture(cls, name: str) -> str:
        from deeplense.models.catalog import architecture_names  # cached: no torch import

        if name not in architecture_names() and not _registered_now(name):
            raise ValueError(
                f"unknown architecture {name!r}; use a timm model name (timm.list_models()) "
                f"or a registered deeplense architecture"
            )
        return name


def _registered_now(name: str) -> bool:
    """The slow, exact check (imports torch): a name missing from the cache is looked up live."""
    from deeplense.models.registry import architecture_exists

    return architecture_exists(name)


class ReportSettings(_Strict):
    gallery_per_class: int = Field(6, ge=1, le=32, description="example images per class in the report")


class ExperimentConfig(_Strict):
    """The whole experiment: datasets to simulate and models to train and evaluate on them."""

    seed: int = Field(0, ge=0, description="global seed of every random stream")
    simulation: SimulationSettings = SimulationSettings()
    storage: StorageSettings = StorageSettings()
    datasets: dict[str, DatasetConfig] = Field(min_length=1)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    report: ReportSettings = ReportSettings()
    sweeps: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="grids over one physics parameter (see deeplense.workflow.sweeps)"
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_sweeps(cls, data: Any) -> Any:
        from deeplense.workflow.sweeps import expand_sweeps

        return expand_sweeps(data) if isinstance(data, dict) else data

    @field_validator("datasets", "models")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        import re

        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"name {name!r} must match {NAME_PATTERN} (it becomes a path)")
        return value

    @model_validator(mode="after")
    def _model_datasets(self) -> "ExperimentConfig":
        for name, model in self.models.items():
            if model.dataset not in self.datasets:
                raise ValueError(
                    f"models.{name}.dataset = {model.dataset!r} is not a dataset; "
                    f"allowed: {', '.join(self.datasets)}"
                )
            known = self.datasets[model.dataset].class_names
            for cls in model.classes or []:
                if cls not in known:
                    raise ValueError(f"models.{name}.classes: {cls!r} is not a class of dataset {model.dataset}; allowed: {', '.join(known)}")
            if model.task == "anomaly" and model.normal_class not in known:
                raise ValueError(
                    f"models.{name}.normal_class = {model.normal_class!r} is not a class of dataset {model.dataset}; allowed: {', '.join(known)}"
                )
            for other in model.evaluate_on:
                if other not in self.datasets:
                    raise ValueError(f"models.{name}.evaluate_on: {other!r} is not a dataset; allowed: {', '.join(self.datasets)}")
                if self.datasets[other].class_names != known:
                    raise ValueError(
                        f"models.{name}.evaluate_on: dataset {other} has classes {self.datasets[other].class_names}, "
                        f"{model.dataset} has {known}; cross-dataset evaluation needs the same classes in the same order"
                    )
        return self


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "union[", "tagged-union", "float", "Fixed", "Uniform")):
            continue  # pydantic's internal union branch names: not config fields
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: field.path = value: what is wrong / allowed``."""
    lines = [f"invalid config {source}:"]
    seen = set()
    for e in error.errors():
        where = _location(e["loc"])
        if where == "(top level)" and e["msg"].startswith("Value error, sweeps."):
            where = "sweeps"
        msg = e["msg"].removeprefix("Value error, ")
        key = (where, msg)
        if key in seen:
            continue
        seen.add(key)
        value = "" if e["type"] == "missing" or where == "sweeps" else f" = {e.get('input')!r}"
        if len(value) > 120:
            value = value[:117] + "..."
        lines.append(f"  {where}{value}: {msg}")
    return "\n".join(lines)


def load_config(raw: dict[str, Any] | str | Path, source: str | None = None) -> ExperimentConfig:
    """Validate a config mapping (or a YAML file) into an ``ExperimentConfig``."""
    if isinstance(raw, (str, Path)):
        source = source or str(raw)
        try:
            raw = yaml.safe_load(Path(raw).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {raw} does not exist") from None
    source = source or "config"
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid config {source}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, source)) from None


def json_schema() -> dict[str, Any]:
    """The JSON schema of the config, exported to workflow/schemas/config.schema.json."""
    return ExperimentConfig.model_json_schema()


def dump_json(obj: Any) -> str:
    """Canonical JSON (sorted keys): identical config gives identical text, hashes and params."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def model_config_hash(model_config: dict[str, Any], seed: int, split: dict[str, float]) -> str:
    """sha256 of everything besides the data that determines a model's trained weights: its
    training config, the seed and the split fractions. Names the model in checkpoints, metrics and
    report captions."""
    import hashlib

    return "sha256:" + hashlib.sha256(dump_json({"model": model_config, "seed": seed, "split": split}).encode()).hexdigest()
