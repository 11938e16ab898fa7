"""The experiment config: pydantic models are the single source of defaults, types, docs and the
exported JSON schema (workflow/schemas/config.schema.json).

Validation here needs the config's values and deeplense's registries only (scenarios, instrument
presets by name, tasks): beyond types and ranges it refuses what would otherwise fail, or silently
make garbage, only in a later job: a distribution reaching outside its parameter's domain, an
Einstein ring outside the image, a loss or monitor that does not fit the task, a regression target
that no chosen class records, a split that leaves a model too few images of a class (counted as
deeplense.data.splits splits a store). What needs files or heavy imports (source images,
pretrained weights, architecture names, whether a network builds, a prediction's input files) is
asked of a ``ConfigChecks`` that ``deeplense.experiment.load_config`` passes in the validation
context (or, for predictions, to deeplense.predict.config), so those problems are
reported in the same place as the others; a config validated without one (a job reading its spec,
a store's attributes) is checked on its values alone. ``load_config`` also expands sweeps and
learning curves and fills instrument presets before validation, and turns problems into a
``ConfigError`` naming the file, the field path as the user wrote it, the bad value and what is
allowed (see deeplense.validation).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from deeplense.errors import DeeplenseError
from deeplense.physics.distributions import (
    ComponentParam,
    Domain,
    NonNegativeParam,
    Param,
    PositiveParam,
    largest_magnitude,
    param_in,
    support,
)
from deeplense.physics.instruments import INSTRUMENTS
from deeplense.physics.records import record_units, renamed_note
from deeplense.physics.scenarios import SCENARIOS
from deeplense.published import published_keys
from deeplense.tasks import TASKS, Task, loss_names, monitor_names, task_names
from deeplense.validation import NO_VALUE, FieldProblems, OneOf, Problem, StrictModel, nested, not_one_of, problem

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"  # names become file paths and wildcards


class ConfigError(DeeplenseError):
    """A config that cannot run; the message names the field, the value and what is allowed."""


class CrossProblems(FieldProblems):
    """The problems across a config's sections (``cross_problems``): found only when every entry
    is valid on its own."""


class ConfigChecks(Protocol):
    """What validating a config asks beyond its values (files, heavy imports): each answer is why a
    value cannot be used, or None. deeplense.experiment.checks implements it; ``load_config``
    passes it as ``context={"checks": ...}``."""

    def source_images(self, path: str) -> str | None: ...

    def backend(self, dataset: DatasetConfig) -> str | None: ...

    def architecture(self, name: str) -> str | None: ...

    def pretrained(self, path: str) -> str | None: ...

    def prediction_input(self, paths: list[str]) -> list[Problem]: ...

    def build(self, cfg: ExperimentConfig, name: str, model: ModelConfig) -> list[Problem]: ...


def _checks(info: ValidationInfo) -> ConfigChecks | None:
    """The validation's ConfigChecks, if it was given one."""
    return (info.context or {}).get("checks")


_Strict = StrictModel  # a config section: unknown fields refused, naming the closest allowed one

# Domains of the physical parameters that need one (see deeplense.physics.distributions).
EPLSlope = param_in(Domain(1.0, 3.0, why="the EPL convergence ∝ (3 − γ) θ^(1 − γ) needs 1 < γ < 3"))
SersicIndex = param_in(Domain(0.2, closed_low=True, why="lenstronomy's Sérsic b(n) ≈ 1.9992 n − 0.3271 must stay positive"))
AxisRatio = param_in(Domain(0.0, 1.0, closed_high=True))
ShearMagnitude = param_in(Domain(0.0, 1.0, closed_low=True))


def _check_modulus(model: Any, first: str, second: str, what: str) -> None:
    """The pair (first, second) of components must keep a modulus below 1 for every draw."""
    a, b = getattr(model, first), getattr(model, second)
    reach = math.hypot(largest_magnitude(a), largest_magnitude(b))
    if reach >= 1:
        raise problem(
            f"with {second} the {what} modulus sqrt({first}² + {second}²) can reach {reach:.3g}; it must stay below 1",
            first, value=a,
        )


class Cosmology(_Strict):
    """Flat ΛCDM."""

    H0: float = Field(70.0, gt=0, description="Hubble constant [km/s/Mpc]")
    Om0: float = Field(0.3, gt=0, lt=1, description="matter density")
    Ob0: float = Field(0.05, ge=0, lt=1, description="baryon density")
    mass_distances: Literal["angular_diameter", "luminosity_as_published"] = Field(
        "angular_diameter",
        description="distances in every mass-to-Einstein-radius conversion (main lens `mass`, point-mass "
        "substructure): angular-diameter distances (physical), or `luminosity_as_published`, the original "
        "DeepLense simulator's luminosity distances (θ_E 1.28″ instead of 1.66″ for 1e12 Msun at z 0.5 → 1), "
        "to reproduce the published datasets",
    )

    @property
    def parameters(self) -> tuple[float, float, float]:
        """(H0, Om0, Ob0)."""
        return (self.H0, self.Om0, self.Ob0)

    @model_validator(mode="after")
    def _baryons_are_matter(self) -> "Cosmology":
        if self.Ob0 > self.Om0:
            raise problem(f"must not exceed Om0 ({self.Om0:g}): baryons are part of the matter density", "Ob0", value=self.Ob0)
        return self


class MainLensConfig(_Strict):
    """Main deflector (SIE, or EPL with power-law slope ``gamma``) plus external shear. Give
    ``theta_E`` [arcsec] or ``mass`` [Msun]; a mass is converted with angular-diameter distances
    (the DeepLense recipe). An SIS is an SIE with e1 = e2 = 0. The shear is (gamma1, gamma2), or
    a magnitude ``gamma_ext`` at angle ``psi_ext`` when ``gamma_ext`` is given."""

    profile: Literal["SIE", "EPL"] = "SIE"
    theta_E: PositiveParam | None = Field(None, description="Einstein radius [arcsec]")
    mass: PositiveParam | None = Field(None, description="mass whose point-mass Einstein radius is theta_E [Msun]")
    gamma: EPLSlope = Field(2.0, description="EPL 3-D density slope (2 = isothermal); EPL only")
    e1: ComponentParam = 0.1
    e2: ComponentParam = 0.0
    center_x: Param = 0.0
    center_y: Param = 0.0
    gamma1: ComponentParam = Field(0.05, description="external shear component 1")
    gamma2: ComponentParam = Field(0.0, description="external shear component 2")
    gamma_ext: ShearMagnitude | None = Field(None, description="external shear magnitude (replaces gamma1, gamma2)")
    psi_ext: Param = Field({"dist": "uniform", "low": 0.0, "high": 3.141592653589793}, description="shear angle [rad]")

    @model_validator(mode="after")
    def _one_normalisation(self) -> "MainLensConfig":
        if (self.theta_E is None) == (self.mass is None):
            both = self.theta_E is not None
            raise problem(
                "give exactly one of theta_E [arcsec] or mass [Msun]" + (", not both" if both else ""),
                "mass" if both else "theta_E", value=self.mass if both else NO_VALUE,
            )
        _check_modulus(self, "e1", "e2", "ellipticity")
        if self.gamma_ext is None:
            _check_modulus(self, "gamma1", "gamma2", "external shear")
        return self


class LightConfig(_Strict):
    """Elliptical Sérsic light. Ellipticity as (e1, e2), or as axis ratio ``q`` and angle ``phi``
    when ``q`` is given (e = (1−q)/(1+q) (cos 2φ, sin 2φ), lenstronomy's convention). Centre as
    (center_x, center_y), or polar (``r_offset``, ``phi_offset``) when ``r_offset`` is given."""

    amp: PositiveParam = Field(10.0, description="surface brightness at the half-light radius [counts/s/arcsec²]")
    R_sersic: PositiveParam = Field(0.25, description="half-light radius [arcsec]")
    n_sersic: SersicIndex = 1.0
    e1: ComponentParam = 0.0
    e2: ComponentParam = 0.0
    q: AxisRatio | None = Field(None, description="axis ratio (replaces e1, e2)")
    phi: Param = Field({"dist": "uniform", "low": 0.0, "high": 3.141592653589793}, description="position angle [rad]")
    center_x: Param = 0.0
    center_y: Param = 0.0
    r_offset: NonNegativeParam | None = Field(None, description="centre at this radius from the axis (replaces center_x, center_y) [arcsec]")
    phi_offset: Param = Field({"dist": "uniform", "low": 0.0, "high": 6.283185307179586}, description="angle of r_offset [rad]")

    @model_validator(mode="after")
    def _ellipticity(self) -> "LightConfig":
        if self.q is None:
            _check_modulus(self, "e1", "e2", "ellipticity")
        return self


class SourceConfig(LightConfig):
    """The lensed source: an elliptical Sérsic (DeepLense Model I defaults), or ``INTERPOL``: a
    galaxy image drawn uniformly from ``images`` (a folder of .npy/.png/.fits files or one .npy
    array of shape (n, y, x)), each normalised to peak 1, ``scale`` arcsec per image pixel,
    rotated by ``phi_G``; ``amp`` is then the peak surface brightness [counts/s/pixel of it]."""

    profile: Literal["SERSIC_ELLIPSE", "INTERPOL"] = "SERSIC_ELLIPSE"
    e1: ComponentParam = -0.1
    e2: ComponentParam = 0.1
    center_x: Param = {"dist": "uniform", "low": -0.35, "high": 0.35}
    center_y: Param = {"dist": "uniform", "low": -0.35, "high": 0.35}
    images: str | None = Field(None, description="INTERPOL: folder or .npy file of source images")
    scale: PositiveParam = Field(0.02, description="INTERPOL: arcsec per source-image pixel")
    phi_G: Param = Field({"dist": "uniform", "low": 0.0, "high": 6.283185307179586}, description="INTERPOL: rotation [rad]")

    @model_validator(mode="after")
    def _images_for_interpol(self, info: ValidationInfo) -> "SourceConfig":
        if self.profile == "INTERPOL":
            if not self.images:
                raise problem("profile INTERPOL needs `images`: a folder of .npy/.png/.fits files or an .npy array", "images")
            checks = _checks(info)
            why = checks.source_images(self.images) if checks else None  # unreadable images fail now, naming the path
            if why:
                raise problem(why, "images", value=self.images)
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
    """Pixel grid, Gaussian PSF and noise. ``preset`` fills the fields the config leaves out (when
    ``load_config`` reads the config: deeplense.physics.instruments.with_preset). ``bands`` makes
    multi-channel images (band, y, x); one unnamed band by default."""

    preset: str = "custom"
    num_pix: int = Field(64, ge=8, le=1024, description="image side [pixels]")
    pixel_scale: float = Field(0.08, gt=0, description="[arcsec/pixel]")
    psf_fwhm: float = Field(0.1, gt=0, description="Gaussian PSF FWHM [arcsec]")
    supersampling: int = Field(1, ge=1, le=8, description="sub-pixels per pixel side when ray-tracing")
    background_rms: float = Field(0.01, ge=0, description="Gaussian background noise [counts/s]")
    exposure_time: PositiveParam = Field(1000.0, description="exposure for Poisson noise [s]")
    noise: bool = Field(
        True,
        description="add Poisson and background noise; false stores noiseless images (as the original DeepLense "
        "Models II and III did; their signal-to-noise records are then NaN)",
    )
    bands: list[BandConfig] = Field(default_factory=lambda: [BandConfig(name="band0")], min_length=1)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        if name not in INSTRUMENTS:
            raise ValueError(not_one_of("unknown instrument preset", name, INSTRUMENTS.names()))
        return name

    @model_validator(mode="after")
    def _unique_bands(self) -> "InstrumentConfig":
        names = [b.name for b in self.bands]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise problem("band names must be unique (they name the image channels)", "bands", i, "name", value=name)
        return self

    @property
    def half_field(self) -> float:
        """Distance from the image centre to its edge [arcsec]."""
        return self.num_pix * self.pixel_scale / 2.0

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
            raise ValueError(not_one_of(f"unknown dark-matter scenario {name!r}", name, SCENARIOS.names()))
        return name

    @model_validator(mode="after")
    def _scenario_params(self) -> "ClassConfig":
        scenario = SCENARIOS.get(self.scenario)
        # Resolve defaults so the stored config is complete; nested errors keep their field names.
        try:
            self.params = scenario.validate_params(self.params).model_dump(mode="json")
        except (ValidationError, FieldProblems) as e:
            raise nested(e, "params") from None
        return self

    def recorded(self) -> frozenset[str]:
        """The scenario's record fields every image of this class fills."""
        scenario = SCENARIOS.get(self.scenario)
        return scenario.recorded(scenario.validate_params(self.params))

    def draws_pyhalo(self) -> bool:
        """Whether its images draw pyHalo populations (thousands of halos each, about ten times
        the cost of a DeepLense-recipe or smooth image)."""
        from deeplense.physics.scenarios.pyhalo_population import PyHaloPopulation

        return isinstance(SCENARIOS.get(self.scenario).validate_params(self.params), PyHaloPopulation)


SPLITS = ("train", "val", "test")


def split_sizes(n: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Images of a class of ``n`` in each split (train, val, test): the configured proportions,
    rounded; a class of 3+ images gets at least one image in each split that has a fraction. What
    deeplense.data.splits.assign_splits gives each class, and what the config checks a model's
    needs against."""
    n_train = int(round(fractions["train"] * n))
    n_val = int(round(fractions["val"] * n))
    if n >= 3:  # every split that has a fraction gets at least one image
        n_val = max(n_val, 1) if fractions["val"] > 0 else 0
        n_train = min(max(n_train, 1), n - n_val - 1)
    n_train = min(n_train, n)
    n_val = min(n_val, n - n_train)
    return {"train": n_train, "val": n_val, "test": n - n_train - n_val}



class SplitConfig(_Strict):
    """Fractions of each dataset for training, validation and test (fixed per sample and seed)."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitConfig":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise problem(f"train + val + test must be 1, got {total:g}")
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
    def _checks(self, info: ValidationInfo) -> "DatasetConfig":
        found = redshifts = _redshift_problems(self.z_lens, self.z_source)
        checks = _checks(info)
        why = checks.backend(self) if checks else None  # what the renderer cannot draw
        if why:
            found.append(Problem(("backend",), why, self.backend))
        names = self.class_names
        found = found + [Problem(("classes", i, "name"), "class names must be unique", n) for i, n in enumerate(names) if n in names[:i]]
        if not redshifts:  # the ring's size in arcsec needs sound redshifts
            found += self._lens_in_image()
        if found:
            raise FieldProblems(found)
        return self

    @classmethod
    def independent_problems(cls, data: dict[str, Any], failed: set[str | int]) -> list[Problem]:
        """The redshifts' order, checked when other fields of the dataset failed."""
        if failed & {"z_lens", "z_source"}:
            return []
        z = {k: float(data.get(k, cls.model_fields[k].default)) for k in ("z_lens", "z_source")}
        return _redshift_problems(z["z_lens"], z["z_source"])

    def _lens_in_image(self) -> list[Problem]:
        """The Einstein ring and the lens centre must lie inside the image, or every image is garbage
        (e.g. a pixel scale in the wrong unit)."""
        lens, half = self.lens, self.instrument.half_field
        field = "theta_E" if lens.theta_E is not None else "mass"
        reach = support(lens.theta_E)[1] if lens.theta_E is not None else self._theta_e_of_mass(support(lens.mass)[1])
        out = []
        if reach > half:
            out.append(Problem(
                ("lens", field),
                f"an Einstein radius of up to {reach:.3g}″ puts the ring outside the image, which reaches "
                f"{half:.3g}″ from its centre (instrument num_pix × pixel_scale / 2); lower {field} or "
                f"enlarge num_pix or pixel_scale",
                getattr(lens, field),
            ))
        for key in ("center_x", "center_y"):
            if largest_magnitude(getattr(lens, key)) > half:
                out.append(Problem(
                    ("lens", key),
                    f"the lens centre must lie inside the image: within ±{half:.3g}″ (num_pix × pixel_scale / 2) [arcsec]",
                    getattr(lens, key),
                ))
        return out

    def _theta_e_of_mass(self, mass: float) -> float:
        from deeplense.physics.cosmology import point_mass_einstein_radius  # astropy: only for a lens mass

        c = self.cosmology
        return float(point_mass_einstein_radius(mass, self.z_lens, self.z_source, *c.parameters, distances=c.mass_distances))

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def split_images(self, split: SplitConfig | None = None) -> dict[str, dict[str, int]]:
        """Class → its images in each split (train, val, test), as training and evaluation split
        the store (deeplense.data.splits); ``split``: other fractions (a model's, on another dataset)."""
        fractions = (split or self.split).model_dump()
        return {c.name: split_sizes(c.n_images, fractions) for c in self.classes}

    def record_fields(self, classes: list[str] | None = None) -> list[str]:
        """The per-image record fields that images of ``classes`` (default: all) fill: what a
        regression can target (sorted)."""
        scenario_fields = {f for s in SCENARIOS for f in SCENARIOS.get(s).record_units}
        shared = {f for f in record_units(self) if f not in scenario_fields}
        chosen = [c for c in self.classes if classes is None or c.name in classes]
        return sorted(shared.union(*(c.recorded() for c in chosen)))


def _redshift_problems(z_lens: float, z_source: float) -> list[Problem]:
    """The lens must lie in front of the source."""
    if z_lens < z_source:
        return []
    return [Problem(("z_lens",), f"must be below z_source ({z_source:g}): the lens lies in front of the source", z_lens)]


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
    compression_level: int = Field(3, ge=1, le=22, description="compression level of the codec (Blosc: 1–9, zstd: 1–22)")
    shard_above_chunks: int = Field(
        1000, gt=0, description="group chunks into Zarr shards when a store would hold more chunk files than this"
    )

    @model_validator(mode="after")
    def _blosc_levels(self) -> "StorageSettings":
        if self.codec == "blosc_zstd" and self.compression_level > 9:
            raise problem(
                "Blosc compresses at levels 1–9; allowed: 1–9 with blosc_zstd, 1–22 with zstd (Zarr's own)",
                "compression_level", value=self.compression_level,
            )
        return self

    def images_per_chunk(self, image_bytes: int) -> int:
        """Whole images per chunk: ``chunk_images`` or enough images to reach ``chunk_mb``."""
        if self.chunk_images is not None:
            return self.chunk_images
        return max(1, -(-int(self.chunk_mb * 2**20) // image_bytes))


# Training settings that change how fast a model trains, never its weights (tested).
NOT_IN_RESULT = frozenset({"num_workers"})


class PosteriorSettings(_Strict):
    """The density estimator of a `posterior` model (sbi's posterior_nn) and its draws."""

    estimator: Literal["maf", "nsf", "mdn"] = Field(
        "maf",
        description="sbi density estimator: maf (masked autoregressive flow, sbi's default for NPE; for one target a "
        "Gaussian of learnt mean and width), nsf (neural spline flow: any shape, needs more training), mdn (mixture of Gaussians)",
    )
    embedding_features: int = Field(32, ge=1, le=4096, description="features the architecture gives the estimator per image")
    hidden_features: int = Field(50, ge=1, description="hidden units of the estimator's networks")
    num_transforms: int = Field(5, ge=1, description="flow transforms (nsf, maf)")
    num_components: int = Field(10, ge=1, description="mixture components (mdn)")
    draws: int = Field(1000, ge=10, le=100_000, description="posterior draws per image in evaluation and `deeplense predict`")


class ModelConfig(_Strict):
    """A network trained on one dataset for one task (classification, regression or anomaly)."""

    architecture: str = Field(description="timm model name or a deeplense-registered architecture")
    architecture_args: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments of the architecture (e.g. fusion backbones, equivariant group order)",
    )
    task: Annotated[str, OneOf(task_names)] = Field("classification", description="a registered task (deeplense.tasks)")
    dataset: str = Field(description="name of a dataset in `datasets`")
    classes: list[str] | None = Field(
        None,
        description="classes of the dataset to use, in the dataset's order (default: all); "
        "regression trains on these, classification tells these apart",
    )
    targets: list[str] = Field(
        default_factory=list,
        description="regression and posterior: per-image physics parameters to predict or infer (record fields, e.g. log10_m_axion, lens_theta_E)",
    )
    loss: Annotated[str, OneOf(loss_names)] | None = Field(
        None,
        description="training loss, one the task allows; default the task's first: cross_entropy (classification), "
        "mse (regression); gaussian_nll also predicts an uncertainty; anomaly models use their own objective",
    )
    posterior: PosteriorSettings | None = Field(
        None, description="posterior task: the density estimator and the draws per image (default: PosteriorSettings())"
    )
    normal_class: str = Field("no_sub", description="anomaly: the class the autoencoder trains on")
    epochs: int = Field(5, gt=0)
    batch_size: int = Field(64, ge=2, description="training images per batch; at least 2: a batch of one image is skipped (batch norm cannot train on it)")
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
    monitor: Annotated[str, OneOf(monitor_names)] = Field(
        "val_loss", description="validation metric that selects the checkpoint and drives early stopping (one the task allows)"
    )
    train_images_per_class: int | None = Field(
        None, gt=0, description="train on the first N training images of each class only (a learning-curve point; default: all)"
    )
    checkpoint: Literal["best", "last"] = Field(
        "best",
        description="the weights kept: `best` on `monitor` over the validation split (which the dataset must have), "
        "or `last`, the final epoch's (needed without a validation split: nothing is ever selected on training data)",
    )
    device: str = Field(
        "auto",
        description="where training and evaluation run: auto (CUDA when present, with bfloat16/float16 autocast, "
        "else the CPU), cpu, cuda, cuda:N",
    )
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="arithmetic of training's forward and backward passes (weights, optimiser and evaluation stay "
        "float32): auto (mixed bfloat16/float16 on CUDA; mixed bfloat16 on a CPU that computes it natively, "
        "AVX512-BF16 or AMX, float32 on other CPUs; named `auto` in the config hash, since what it resolves to "
        "depends on the machine, as the CPU kernels do; train_info.json records the resolved mixed_precision), "
        "float32, or bfloat16 (mixed bfloat16 autocast with channels-last memory on either device; 1.5-2.3x the "
        "float32 speed on a CPU with AVX512-BF16/AMX, about 10x slower on a CPU that emulates it, e.g. an AVX2 AMD "
        "EPYC or an AVX-512 Xeon without AVX512-BF16, which training warns about: python benchmarks/train.py "
        "--precisions float32 bfloat16)",
    )
    shuffle_buffer_mb: float = Field(256.0, gt=0, description="memory budget of the shuffle buffer [MiB]")
    num_workers: int = Field(
        0, ge=0, description="DataLoader worker processes (spawned); the batches and the trained weights do not depend on it"
    )
    threads: int = Field(
        2,
        ge=1,
        le=256,
        description="torch threads for training and evaluation on the CPU. Part of the result: CPU torch splits "
        "reductions (batch-norm statistics, convolution weight gradients) by thread, so the same config gives the "
        "same weights bit for bit only at the same thread count, whatever cores the scheduler grants the job",
    )
    pretrained: str | None = Field(None, description="local weights file to fine-tune from")
    seeds: int = Field(
        1,
        ge=1,
        strict=True,
        description="training repeats: the model is trained this many times on the same data split, each with its own "
        "training seed (initial weights, shuffling, augmentation; deeplense.seeds.training_seed); repeat 0 is the model "
        "itself, repeats 1.. train under results/models/<name>/seeds/<k>/, and the leaderboard gives the headline "
        "metric's mean ± sample std (ddof=1) over all of them. Not part of a trained model's hash",
    )
    evaluate_on: list[str] = Field(
        default_factory=list, description="other datasets to evaluate on as well (domain shift), same classes"
    )
    reproduces: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="evaluation dataset (its own or an evaluate_on one) → the published DeepLense value it reproduces, "
        "\"<DeepLense dataset>: <model>\" (e.g. {model_iii: \"Model III: XResNet18 hybrid\"}); the report's "
        "Reproduction table puts them side by side",
    )

    @model_validator(mode="after")
    def _task_fields(self, info: ValidationInfo) -> "ModelConfig":
        found = TASKS.get(self.task).field_problems(self)  # targets, loss and monitor fit the task
        if found:
            raise FieldProblems(found[:1])
        if self.posterior is not None and self.task != "posterior":
            raise problem(f"is for task posterior, not {self.task}", "posterior", value=self.posterior.model_dump())
        for field in ("classes", "targets"):
            items = getattr(self, field) or []
            for i, item in enumerate(items):
                if item in items[:i]:
                    raise problem("listed twice", field, i, value=item)
        checks = _checks(info)
        why = checks.pretrained(self.pretrained) if checks and self.pretrained is not None else None
        if why:
            raise problem(why, "pretrained", value=self.pretrained)
        return self

    def needs_validation(self) -> list[str]:
        """The settings that need a validation split (nothing is ever selected on training data)."""
        used = (("checkpoint: best", self.checkpoint == "best"), ("early_stopping", self.early_stopping), ("scheduler: plateau", self.scheduler == "plateau"))
        return [what for what, on in used if on]

    def training_dump(self) -> dict[str, Any]:
        """The fields training reads (not where the model is evaluated, what it is compared with, nor how many
        times it is repeated: each repeat's seed names it instead)."""
        unset = {"posterior"} if self.posterior is None else set()  # absent before posteriors existed: same hashes
        return self.model_dump(mode="json", exclude={"evaluate_on", "reproduces", "seeds", *unset})

    def posterior_settings(self) -> PosteriorSettings:
        """The posterior task's estimator settings (the defaults where the config gives none)."""
        return self.posterior or PosteriorSettings()

    def reproductions(self) -> list[tuple[str, str]]:
        """(evaluation dataset, published value's name) for every value ``reproduces`` names."""
        return [(where, key) for where, keys in self.reproduces.items() for key in ([keys] if isinstance(keys, str) else keys)]

    def config_hash(self, seed: int, split: dict[str, float]) -> str:
        """sha256 naming the trained model's configuration (see ``model_config_hash``)."""
        return model_config_hash(self.training_dump(), seed, split)

    @property
    def loss_name(self) -> str | None:
        """The loss actually used (the config's, or the task's default)."""
        return self.loss or TASKS.get(self.task).default_loss()

    @field_validator("device")
    @classmethod
    def _known_device(cls, name: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
            raise ValueError("unknown device; allowed: auto, cpu, cuda, cuda:N (N: the GPU's index)")
        return name

    @field_validator("architecture")
    @classmethod
    def _known_architecture(cls, name: str, info: ValidationInfo) -> str:
        checks = _checks(info)
        why = checks.architecture(name) if checks else None  # a timm or deeplense-registered name
        if why:
            raise ValueError(why)
        return name


class ReportSettings(_Strict):
    """What the HTML report shows."""

    gallery_per_class: int = Field(6, ge=1, le=32, description="example images per class in the report")


class ExperimentConfig(_Strict):
    """The whole experiment: datasets to simulate and models to train and evaluate on them."""

    seed: int = Field(0, ge=0, lt=2**64, description="global seed of every random stream")
    simulation: SimulationSettings = SimulationSettings()
    storage: StorageSettings = StorageSettings()
    datasets: dict[str, DatasetConfig] = Field(min_length=1)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    report: ReportSettings = ReportSettings()
    sweeps: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="grids over one physics parameter (see deeplense.experiment.sweeps)"
    )
    learning_curves: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="a model trained on growing training sets (see deeplense.experiment.learning_curves)"
    )
    searches: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="hyperparameter and architecture searches with Optuna (see deeplense.search.config)"
    )
    predictions: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="trained models applied to datasets or new images (see deeplense.predict.config)"
    )
    populations: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="populations of lenses sharing a global parameter, whose per-lens posteriors are stacked (see deeplense.experiment.populations)",
    )

    @field_validator("datasets", "models", "learning_curves", "searches", "predictions", "populations")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise problem(f"a name must match {NAME_PATTERN}: letters, digits and _, starting with a letter (it becomes a path)", name, value=name)
        return value

    @model_validator(mode="after")
    def _model_datasets(self, info: ValidationInfo) -> "ExperimentConfig":
        problems = cross_problems(self, _checks(info))
        if problems:
            raise CrossProblems(problems)
        return self

    @classmethod
    def sound_part(cls, raw: Mapping[str, Any], context: dict[str, Any] | None = None) -> "ExperimentConfig":
        """The config made of the entries of ``raw`` (a config that failed validation) that are
        valid on their own: its datasets, and its models on such datasets; the checks across
        entries (``cross_problems``, searches, predictions) can then still run on them, so that
        one load reports every mistake that does not follow from another."""
        def valid(model: type[_Strict], value: Any) -> Any:
            try:
                return model.model_validate(value, context=context)
            except ValidationError:
                return None

        def section(name: str) -> dict[str, Any]:
            value = raw.get(name)
            return value if isinstance(value, dict) else {}

        datasets = {n: d for n, d in ((n, valid(DatasetConfig, v)) for n, v in section("datasets").items()) if d is not None}
        broken = {n for n in section("datasets") if n not in datasets}
        # a model on a dataset that failed on its own is left out (its checks would blame the wrong field)
        models = {
            n: m for n, m in ((n, valid(ModelConfig, v)) for n, v in section("models").items())
            if m is not None and not broken.intersection([m.dataset, *m.evaluate_on])
        }
        failed = broken | {n for n in section("models") if n not in models}
        def refers_to_failed(entry: Any) -> bool:  # likewise a search, prediction or population
            return isinstance(entry, dict) and any(entry.get(k) in failed for k in ("model", "dataset"))

        fields = {k: raw[k] for k in ("seed", "sweeps", "learning_curves") if k in raw}
        entries = {k: {n: e for n, e in section(k).items() if not refers_to_failed(e)} for k in ("searches", "predictions", "populations")}
        return cls.model_construct(datasets=datasets, models=models, **fields, **entries)

    def training_images(self, model: str) -> int:
        """The images model ``model`` trains on in one epoch: the training split of each class it
        learns from, or ``train_images_per_class`` of each."""
        cfg = self.models[model]
        split = self.datasets[cfg.dataset].split_images()
        return sum(min(split[c]["train"], cfg.train_images_per_class or split[c]["train"]) for c in _task(self, cfg).train_classes())


def cross_problems(cfg: ExperimentConfig, checks: ConfigChecks | None = None) -> list[Problem]:
    """What is wrong across the config's sections: each model against its datasets, whether its
    network builds (with ``checks``), and whether each split gives the models enough images."""
    problems: list[Problem] = []
    sound: dict[str, ModelConfig] = {}  # models without problems of their own
    for name, model in cfg.models.items():
        found = _model_problems(cfg, name, model)
        problems += found
        if not found:
            sound[name] = model
            if checks:  # whether the network builds for the dataset's images
                problems += checks.build(cfg, name, model)
    return problems + _split_problems(cfg, sound)


def same_recipe_classes(a: DatasetConfig, b: DatasetConfig, classes: list[str]) -> list[str]:
    """The ``classes`` that datasets ``a`` and ``b`` render identically: the same class settings
    (but the image count) and the same shared settings (but the split). Images are seeded by that
    recipe (deeplense.simulation.seeds), so such a class holds the same images in both."""
    if a.model_dump(exclude={"classes", "split"}) != b.model_dump(exclude={"classes", "split"}):
        return []
    def recipes(d: DatasetConfig) -> dict[str, dict]:
        return {c.name: c.model_dump(exclude={"n_images"}) for c in d.classes}

    ra, rb = recipes(a), recipes(b)
    return [c for c in classes if c in ra and c in rb and ra[c] == rb[c]]


def written_names(names: Mapping[str, Any]) -> list[str]:
    """The names a user wrote: without the datasets and models that sweeps and populations
    generate (``<name>__<entry>_<k>``), which a hint of what is allowed should not offer."""
    return [n for n in names if "__" not in n]


def _model_problems(cfg: ExperimentConfig, name: str, model: ModelConfig) -> list[Problem]:
    """What is wrong with ``model`` given the experiment's datasets (paths from the top level)."""
    at = ("models", name)
    if model.dataset not in cfg.datasets:
        return [Problem((*at, "dataset"), not_one_of("not a dataset", model.dataset, written_names(cfg.datasets)), model.dataset)]
    dataset = cfg.datasets[model.dataset]
    known = dataset.class_names
    out = [
        Problem((*at, "classes", i), not_one_of(f"not a class of dataset {model.dataset}", c, known), c)
        for i, c in enumerate(model.classes or []) if c not in known
    ]
    chosen = model.classes or known
    task = TASKS.get(model.task)
    out += [Problem((*at, *p.loc), p.message, p.value, p.kind) for p in task.class_problems(model, known, chosen)]
    if dataset.split.val == 0:
        needs = model.needs_validation()
        if needs:
            out.append(Problem(
                ("datasets", model.dataset, "split", "val"),
                f"model {name} needs a validation split for {', '.join(needs)}; give the dataset one (e.g. val: 0.15) "
                f"or set models.{name}.checkpoint: last without early_stopping or plateau (never select on training data)",
                0.0,
            ))
    for i, other in enumerate(model.evaluate_on):
        if other not in cfg.datasets:
            out.append(Problem((*at, "evaluate_on", i), not_one_of("not a dataset", other, written_names(cfg.datasets)), other))
        elif cfg.datasets[other].class_names != known:
            out.append(Problem(
                (*at, "evaluate_on", i),
                f"dataset {other} has classes {cfg.datasets[other].class_names}, {model.dataset} has {known}; "
                "cross-dataset evaluation needs the same classes in the same order", other,
            ))
        elif same := same_recipe_classes(dataset, cfg.datasets[other], chosen):
            out.append(Problem(
                (*at, "evaluate_on", i),
                f"dataset {other} draws classes {', '.join(same)} exactly as {model.dataset} does (the same recipe, "
                "so the same images, seeded by recipe): no domain shift to measure, and its test split can hold the "
                f"model's training images; change what differs in {other} (e.g. its instrument or lens)", other,
            ))
        elif cfg.datasets[other].instrument.image_shape != dataset.instrument.image_shape:
            out.append(Problem(
                (*at, "evaluate_on", i),
                f"dataset {other} has {_images(cfg.datasets[other])} images, {model.dataset} has {_images(dataset)} "
                "(bands × num_pix²); the network takes the images it was trained on (evaluation does not resample)", other,
            ))
    for where, keys in model.reproduces.items():
        if where != model.dataset and where not in model.evaluate_on:
            out.append(Problem((*at, "reproduces", where),
                               not_one_of(f"{where} is not where the model is evaluated", where, [model.dataset, *model.evaluate_on]), keys))
            continue
        for key in [keys] if isinstance(keys, str) else keys:
            if key not in published_keys(model.task):
                out.append(Problem((*at, "reproduces", where), not_one_of(f"not a published {model.task} value", key, published_keys(model.task)), key))
    if not out and task.uses_targets:
        for where in [model.dataset, *model.evaluate_on]:
            recorded = cfg.datasets[where].record_fields(chosen)
            out += [
                Problem((*at, "targets", i), not_one_of(f"no image of classes {', '.join(chosen)} of dataset {where} records it{renamed_note(t)}", t, recorded), t)
                for i, t in enumerate(model.targets) if t not in recorded
            ]
    if not out:
        dump = dataset.model_dump(mode="json")
        out += [Problem((*at, "targets", i), why, model.targets[i]) for i, why in task.dataset_problems(model, dump, chosen)]
    if not out:
        out += _train_images_problems(cfg, name, model)
    return out


def _images(dataset: DatasetConfig) -> str:
    """``1×32×32``: the shape of the dataset's images (bands × num_pix²)."""
    return "×".join(map(str, dataset.instrument.image_shape))


def _task(cfg: ExperimentConfig, model: ModelConfig) -> Task:
    """The task of ``model`` on its dataset's classes: which classes it learns from and which it is
    evaluated on (for a model whose classes and normal class were found in the dataset)."""
    return TASKS.get(model.task).from_config(model, cfg.datasets[model.dataset].class_names)


def _train_images_problems(cfg: ExperimentConfig, name: str, model: ModelConfig) -> list[Problem]:
    """A ``train_images_per_class`` the training split cannot give: more images than a class the
    model learns from has there (it would train on fewer than it is labelled with), or one image
    in all (a batch of one image is skipped: it would never train)."""
    n = model.train_images_per_class
    if n is None:
        return []
    dataset = cfg.datasets[model.dataset]
    images = dataset.split_images()
    have = {c: images[c]["train"] for c in _task(cfg, model).train_classes()}
    at = ("models", name, "train_images_per_class")
    if n > min(have.values()):
        counts = ", ".join(f"{c} {k}" for c, k in have.items())
        return [Problem(at, f"more than the training split holds; training images per class of dataset {model.dataset} "
                            f"(split.train {dataset.split.train:g}): {counts}", n)]
    if n * len(have) < 2:
        return [Problem(at, "one training image in all: a batch of one image is skipped (batch norm cannot train on it), "
                            "so the model would never train; allowed: 2 or more", n)]
    return []


def _split_needs(cfg: ExperimentConfig, models: dict[str, ModelConfig]) -> dict[tuple[str, str], dict[str, int]]:
    """(dataset, class) → the fewest images of each split that ``models`` need of it: a training
    image of each class a model learns from (two when it learns from that class alone: a batch of
    one image is skipped) and a validation image where the dataset has a validation split; a test
    image of each class it is evaluated on, in its own dataset and in each of ``evaluate_on``."""
    needs: dict[tuple[str, str], dict[str, int]] = {}

    def need(dataset: str, cls: str, split: str, k: int) -> None:
        entry = needs.setdefault((dataset, cls), dict.fromkeys(SPLITS, 0))
        entry[split] = max(entry[split], k)

    for model in models.values():
        task = _task(cfg, model)
        learnt = task.train_classes()
        for cls in learnt:
            need(model.dataset, cls, "train", 2 if len(learnt) == 1 else 1)
            if cfg.datasets[model.dataset].split.val > 0:
                need(model.dataset, cls, "val", 1)
        for where in [model.dataset, *model.evaluate_on]:
            for cls in task.eval_classes():
                need(where, cls, "test", 1)
    return needs


def _split_problems(cfg: ExperimentConfig, models: dict[str, ModelConfig]) -> list[Problem]:
    """Classes whose split leaves fewer images than the models that use them need (a classifier
    that never sees a class, a checkpoint selected or a metric computed without it), at the class's
    ``n_images``, with the fewest images that are enough."""
    out = []
    for (name, cls), need in _split_needs(cfg, models).items():
        dataset = cfg.datasets[name]
        index = dataset.class_names.index(cls)
        n = dataset.classes[index].n_images
        fractions = dataset.split.model_dump()
        if _enough(n, fractions, need):
            continue
        fewest = next(m for m in itertools.count(n) if _enough(m, fractions, need))
        have = split_sizes(n, fractions)
        shown = [s for s in SPLITS if need[s]]
        alone = " (a model learns from it alone, and a batch of one image is skipped)" if need["train"] > max(have["train"], 1) else ""
        out.append(Problem(
            ("datasets", name, "classes", index, "n_images"),
            f"the split (train {fractions['train']:g}, val {fractions['val']:g}, test {fractions['test']:g}) gives this class "
            f"{_per_split(have, shown)}; the models that use it need at least {_per_split(need, shown)}{alone}: "
            f"give it at least {fewest} images", n,
        ))
    return out


def _enough(n: int, fractions: dict[str, float], need: dict[str, int]) -> bool:
    """Whether a class of ``n`` images has ``need`` images of each split."""
    have = split_sizes(n, fractions)
    return all(have[s] >= k for s, k in need.items())


_SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}


def _per_split(counts: dict[str, int], splits: list[str]) -> str:
    """``1 training, 0 validation and 1 test images``: ``counts`` of ``splits``."""
    words = [f"{counts[s]} {_SPLIT_WORDS[s]}" for s in splits]
    listed = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
    return listed + (" image" if len(splits) == 1 and counts[splits[0]] == 1 else " images")


def json_schema() -> dict[str, Any]:
    """The JSON schema of the config, exported to workflow/schemas/config.schema.json."""
    return ExperimentConfig.model_json_schema()


def dump_json(obj: Any) -> str:
    """Canonical JSON (sorted keys): identical config gives identical text, hashes and params."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def model_config_hash(model_config: dict[str, Any], seed: int, split: dict[str, float]) -> str:
    """sha256 of everything besides the data that determines a model's trained weights: its
    training config (less the fields that cannot change a weight, ``NOT_IN_RESULT``), the seed and
    the split fractions. Names the model in checkpoints, metrics and report captions."""
    model_config = {k: v for k, v in model_config.items() if k not in NOT_IN_RESULT}
    return "sha256:" + hashlib.sha256(dump_json({"model": model_config, "seed": seed, "split": split}).encode()).hexdigest()
