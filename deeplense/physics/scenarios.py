"""Dark-matter scenarios: each draws the substructure that distinguishes it from a smooth lens.

Adding a scenario means writing one class with a pydantic ``Params`` model and ``draw`` and
registering it with ``@register_scenario("name")``. Every value a scenario draws goes into the
image's record (``summary``) with its unit in ``record_units``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from deeplense.physics.components import Component
from deeplense.physics.cosmology import point_mass_einstein_radius
from deeplense.physics.distributions import Param, draw
from deeplense.physics import pyhalo_adapter
from deeplense.registry import Registry

SCENARIOS: Registry[type["Scenario"]] = Registry("dark-matter scenario")
register_scenario = SCENARIOS.register

# Record fields every scenario fills (NaN-free): how much substructure an image holds.
COMMON_RECORD_UNITS = {"n_subhalos": "count", "sub_mass_total": "Msun"}


@dataclass(frozen=True)
class LensContext:
    """What a scenario needs to know about the main lens and the cosmology of this image."""

    z_lens: float
    z_source: float
    H0: float
    Om0: float
    Ob0: float
    center_x: float
    center_y: float

    @property
    def cosmology(self) -> dict[str, float]:
        return {"H0": self.H0, "Om0": self.Om0, "Ob0": self.Ob0}

    def theta_e_of_mass(self, mass_msun: np.ndarray) -> np.ndarray:
        return np.asarray(
            point_mass_einstein_radius(mass_msun, self.z_lens, self.z_source, self.H0, self.Om0, self.Ob0)
        )


@dataclass(frozen=True)
class Substructure:
    """Drawn deflectors and the summary recorded beside the image."""

    components: list[Component]
    summary: dict[str, float]


class ScenarioParams(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def require_ordered(params: ScenarioParams, *pairs: tuple[str, str]) -> Any:
    """``params`` if every (low, high) pair of fields is ordered; else an error naming both."""
    for low, high in pairs:
        lo, hi = getattr(params, low), getattr(params, high)
        if not lo < hi:
            raise ValueError(f"{low} ({lo}) must be below {high} ({hi})")
    return params


class Scenario:
    """Base class: ``Params`` validates the config, ``draw`` makes one image's substructure."""

    Params: ClassVar[type[ScenarioParams]] = ScenarioParams
    record_units: ClassVar[dict[str, str]] = {}

    def __init__(self, params: ScenarioParams) -> None:
        self.params = params

    @classmethod
    def validate_params(cls, raw: dict[str, Any]) -> ScenarioParams:
        """Validated parameters (defaults resolved); errors name the bad field and value."""
        return cls.Params.model_validate(raw)

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:  # pragma: no cover
        raise NotImplementedError


def point_masses(ctx: LensContext, masses: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[Component]:
    """Point-mass deflectors at (x, y) arcsec with Einstein radii from their masses."""
    theta = ctx.theta_e_of_mass(masses)
    return [
        Component("POINT_MASS", {"theta_E": float(t), "center_x": float(px), "center_y": float(py)})
        for t, px, py in zip(np.atleast_1d(theta), x, y)
    ]


def power_law_masses(rng: np.random.Generator, n: int, m_min: float, m_max: float, beta: float) -> np.ndarray:
    """``n`` masses from dN/dm ∝ m^β on [m_min, m_max] by inverse-CDF sampling."""
    u = rng.uniform(size=n)
    if math.isclose(beta, -1.0):
        return m_min * (m_max / m_min) ** u
    k = beta + 1.0
    return (m_min**k + u * (m_max**k - m_min**k)) ** (1.0 / k)


class _RecipeScenario(Scenario):
    """A scenario with several recipes (populations) chosen by ``params.recipe``."""

    recipes: ClassVar[dict[str, type[ScenarioParams]]] = {}
    default_recipe: ClassVar[str] = ""

    @classmethod
    def validate_params(cls, raw: dict[str, Any]) -> ScenarioParams:
        raw = {"recipe": cls.default_recipe, **raw}
        union = Annotated[Union[tuple(cls.recipes.values())], Field(discriminator="recipe")]  # type: ignore[valid-type]
        return TypeAdapter(union).validate_python(raw)


# ---- no substructure ---------------------------------------------------------------------------
@register_scenario("no_sub")
class NoSubstructure(Scenario):
    """The smooth main lens alone: the null hypothesis every other scenario is compared with."""

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        return Substructure([], {"n_subhalos": 0.0, "sub_mass_total": 0.0})


# ---- pyHalo populations (shared knobs) ---------------------------------------------------------
class PyHaloPopulation(ScenarioParams):
    """Knobs shared by pyHalo's presets (names and defaults as in pyHalo 1.4.6). Rendering cost
    grows steeply as ``log_mlow`` falls and ``cone_opening_angle_arcsec`` grows: ≈ 5,000 halos
    and several seconds per image at the defaults, ≈ 100 halos at log_mlow 7.5 and a 5″ cone."""

    sigma_sub: Param = Field(0.025, description="subhalo mass-function amplitude at 1e8 Msun [kpc^-2]")
    log_mlow: float = Field(6.0, ge=4, le=11, description="log10 lightest halo rendered [Msun]")
    log_mhigh: float = Field(10.0, ge=5, le=12, description="log10 heaviest halo rendered [Msun]")
    shmf_log_slope: float = Field(-1.9, description="logarithmic slope of the subhalo mass function")
    log_m_host: float = Field(13.3, description="log10 host halo mass [Msun]")
    LOS_normalization: float = Field(1.0, ge=0, description="line-of-sight halo density relative to Sheth-Tormen (0: none)")
    cone_opening_angle_arcsec: float = Field(6.0, gt=0, description="opening angle of the rendering cone [arcsec]")

    @model_validator(mode="after")
    def _mass_range(self) -> "PyHaloPopulation":
        return require_ordered(self, ("log_mlow", "log_mhigh"))

    def preset_kwargs(self, rng: np.random.Generator) -> dict[str, Any]:
        """pyHalo keyword arguments, distributions drawn from the image's stream."""
        out: dict[str, Any] = {}
        for name in PyHaloPopulation.model_fields:
            out[name] = draw(getattr(self, name), rng) if name == "sigma_sub" else getattr(self, name)
        return out


PYHALO_RECORD_UNITS = {
    "sigma_sub": "kpc^-2",
    "n_halos_subhalo": "count",
    "n_halos_los": "count",
    "mass_in_subhalos": "Msun",
}


def pyhalo_substructure(
    preset: str, ctx: LensContext, kwargs: dict[str, Any], rng: np.random.Generator, knobs: dict[str, float]
) -> Substructure:
    """Realize a pyHalo preset around the lens centre and summarise it."""
    realization = pyhalo_adapter.realize(preset, ctx.z_lens, ctx.z_source, kwargs, ctx.cosmology, rng)
    components = pyhalo_adapter.halo_components(realization)
    if ctx.center_x or ctx.center_y:  # pyHalo renders around (0, 0): follow the main lens
        components = [_shifted(c, ctx.center_x, ctx.center_y) for c in components]
    summary = {**pyhalo_adapter.summary(realization), "sigma_sub": float(kwargs["sigma_sub"]), **knobs}
    return Substructure(components, summary)


def _shifted(c: Component, dx: float, dy: float) -> Component:
    if "center_x" not in c.kwargs:
        return c
    kw = {**c.kwargs, "center_x": c.kwargs["center_x"] + dx, "center_y": c.kwargs["center_y"] + dy}
    return Component(c.profile, kw, c.redshift)


# ---- CDM -----------------------------------------------------------------------------------------
class CDMPointMassParams(ScenarioParams):
    """DeepLense "Model I" CDM recipe. The original code used β = −0.9 while its docstring said
    −1.9; β is a parameter here, default −1.9 (the CDM subhalo mass-function slope)."""

    recipe: Literal["deeplense"] = "deeplense"
    n_subhalos: int = Field(25, ge=0, description="number of point-mass subhalos")
    m_min: float = Field(1e6, gt=0, description="lowest subhalo mass [Msun]")
    m_max: float = Field(1e10, gt=0, description="highest subhalo mass [Msun]")
    beta: float = Field(-1.9, description="mass-function slope: dN/dm ∝ m^beta")
    r_min: float = Field(0.25, ge=0, description="smallest projected radius from the lens centre [arcsec]")
    r_max: float = Field(2.0, gt=0, description="largest projected radius [arcsec]")

    @model_validator(mode="after")
    def _ranges(self) -> "CDMPointMassParams":
        return require_ordered(self, ("m_min", "m_max"), ("r_min", "r_max"))


class CDMPyHaloParams(PyHaloPopulation):
    """pyHalo's CDM preset: TNFW subhalos (Galacticus truncation) plus line-of-sight halos."""

    recipe: Literal["pyhalo"] = "pyhalo"


@register_scenario("cdm")
class CDM(_RecipeScenario):
    """Cold dark matter. ``recipe: deeplense``: subhalos as point masses with a power-law mass
    function, placed uniformly in radius and angle (DeepLense Model I; Alexander et al. 2020,
    ApJ 893, 15). ``recipe: pyhalo``: pyHalo's CDM preset (Gilman et al. 2020, MNRAS 491, 6077):
    truncated-NFW subhalos and line-of-sight halos, every pyHalo knob exposed."""

    recipes = {"deeplense": CDMPointMassParams, "pyhalo": CDMPyHaloParams}
    default_recipe = "deeplense"
    record_units = {"cdm_beta": "1", "sub_mass_max": "Msun", **PYHALO_RECORD_UNITS}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p = self.params
        if isinstance(p, CDMPyHaloParams):
            return pyhalo_substructure("CDM", ctx, p.preset_kwargs(rng), rng, {})
        assert isinstance(p, CDMPointMassParams)
        masses = power_law_masses(rng, p.n_subhalos, p.m_min, p.m_max, p.beta)
        r = rng.uniform(p.r_min, p.r_max, size=p.n_subhalos)
        phi = rng.uniform(0.0, 2.0 * np.pi, size=p.n_subhalos)
        x = ctx.center_x + r * np.cos(phi)
        y = ctx.center_y + r * np.sin(phi)
        summary = {
            "n_subhalos": float(p.n_subhalos),
            "sub_mass_total": float(masses.sum()),
            "sub_mass_max": float(masses.max()) if p.n_subhalos else 0.0,
            "cdm_beta": p.beta,
        }
        return Substructure(point_masses(ctx, masses, x, y), summary)


# ---- WDM -----------------------------------------------------------------------------------------
class WDMParams(PyHaloPopulation):
    """pyHalo's WDM preset: Lovell (2020) suppression of the subhalo and field mass functions
    below the half-mode mass 10^log_mc, Bose (2016) concentrations."""

    log_mc: Param = Field(7.5, description="log10 half-mode mass [Msun]: the physics knob")


@register_scenario("wdm")
class WDM(Scenario):
    """Warm dark matter via pyHalo's WDM preset (Gilman et al. 2020; mass function of Lovell 2020,
    MNRAS 493, 1782). Recorded: ``log_mc``, halo counts and mass in halos."""

    Params = WDMParams
    record_units = {"log_mc": "log10 Msun", **PYHALO_RECORD_UNITS}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: WDMParams = self.params  # type: ignore[assignment]
        log_mc = draw(p.log_mc, rng)
        kwargs = {**p.preset_kwargs(rng), "log_mc": log_mc}
        return pyhalo_substructure("WDM", ctx, kwargs, rng, {"log_mc": log_mc})


# ---- SIDM ----------------------------------------------------------------------------------------
class SIDMParams(PyHaloPopulation):
    """pyHalo's SIDM presets. ``model: core_collapse``: in each mass bin a fraction of halos has
    core-collapsed (rendered with ``collapsed_halo_profile``); ``model: parametric``: every halo's
    profile evolves with its effective cross section (Yang et al. 2023 parametric model)."""

    model: Literal["core_collapse", "parametric"] = "core_collapse"
    mass_ranges_subhalos: list[tuple[float, float]] = Field(default=[(6.0, 8.0), (8.0, 10.0)], description="log10 mass bins")
    probabilities_subhalos: list[float] = Field(default=[0.5, 0.9], description="collapsed fraction per bin")
    mass_ranges_field_halos: list[tuple[float, float]] = Field(default=[(6.0, 8.0), (8.0, 10.0)])
    probabilities_field_halos: list[float] = Field(default=[0.3, 0.5])
    collapsed_halo_profile: Literal["TNFWC", "SPL_CORE"] = "TNFWC"
    x_core_halo: float = Field(0.05, gt=0, description="core radius of collapsed halos in units of r_s")
    log_slope_halo: float = Field(3.0, description="central log-slope of SPL_CORE collapsed halos")
    log10_effective_cross_section: list[float] = Field(default=[2.0, 1.0], description="log10 σ_eff [cm²/g] per bin (parametric)")

    @model_validator(mode="after")
    def _bins(self) -> "SIDMParams":
        for ranges, probs, name in (
            (self.mass_ranges_subhalos, self.probabilities_subhalos, "subhalos"),
            (self.mass_ranges_field_halos, self.probabilities_field_halos, "field_halos"),
        ):
            if len(ranges) != len(probs):
                raise ValueError(f"mass_ranges_{name} and probabilities_{name} need the same length")
            if any(not 0 <= q <= 1 for q in probs):
                raise ValueError(f"probabilities_{name} must lie in [0, 1], got {probs}")
        if self.model == "parametric" and len(self.log10_effective_cross_section) != len(self.mass_ranges_subhalos):
            raise ValueError("log10_effective_cross_section needs one value per mass_ranges_subhalos bin")
        return self


@register_scenario("sidm")
class SIDM(Scenario):
    """Self-interacting dark matter via pyHalo's SIDM presets (Gilman et al. 2021, 2023; Yang et al.
    2023): core-collapsed halos rendered as cored-truncated NFW (TNFWC) or cored power laws.
    Recorded: the number of collapsed/cored halos beside the common summary."""

    Params = SIDMParams
    record_units = {"sidm_n_collapsed": "count", **PYHALO_RECORD_UNITS}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: SIDMParams = self.params  # type: ignore[assignment]
        base = p.preset_kwargs(rng)
        ranges = [list(r) for r in p.mass_ranges_subhalos]
        if p.model == "core_collapse":
            kwargs = {
                **base,
                "mass_ranges_subhalos": ranges,
                "probabilities_subhalos": list(p.probabilities_subhalos),
                "mass_ranges_field_halos": [list(r) for r in p.mass_ranges_field_halos],
                "probabilities_field_halos": list(p.probabilities_field_halos),
                "collapsed_halo_profile": p.collapsed_halo_profile,
                "x_core_halo": p.x_core_halo,
                "log_slope_halo": p.log_slope_halo,
            }
            preset = "SIDM_core_collapse"
        else:
            kwargs = {
                **base,
                "log10_mass_ranges": ranges,
                "log10_effective_cross_section_list": list(p.log10_effective_cross_section),
            }
            preset = "SIDM_parametric"
        sub = pyhalo_substructure(preset, ctx, kwargs, rng, {})
        n_cored = sum(c.profile in ("TNFWC", "SPL_CORE") for c in sub.components)
        return Substructure(sub.components, {**sub.summary, "sidm_n_collapsed": float(n_cored)})


# ---- vortices ------------------------------------------------------------------------------------
class VortexParams(ScenarioParams):
    """Superfluid dark-matter vortices: straight lines of equal point masses. PyAutoLens Model A/B
    "vort": n_points 25, length 1″, mass 1% of the halo."""

    n_vortices: int = Field(1, ge=1, le=20, description="number of vortex lines")
    n_points: int = Field(100, ge=2, description="point masses along each vortex line")
    mass: Param = Field(3e10, description="mass of each vortex [Msun]")
    length: Param = Field(1.0, description="full length of each line [arcsec]")
    offset_max: float = Field(0.0, ge=0, description="largest offset of a line centre from the lens centre [arcsec]")


def vortex_line(
    ctx: LensContext, rng: np.random.Generator, n_points: int, mass: float, length: float, offset_max: float
) -> tuple[list[Component], float]:
    """``n_points`` equal point masses on a straight line of full ``length`` [arcsec] through a
    point within ``offset_max`` of the lens centre, at a uniformly random orientation."""
    angle = float(rng.uniform(0.0, np.pi))
    off_r = float(rng.uniform(0.0, offset_max)) if offset_max > 0 else 0.0
    off_phi = float(rng.uniform(0.0, 2.0 * np.pi))
    cx = ctx.center_x + off_r * np.cos(off_phi)
    cy = ctx.center_y + off_r * np.sin(off_phi)
    s = np.linspace(-length / 2.0, length / 2.0, n_points)
    masses = np.full(n_points, mass / n_points)
    return point_masses(ctx, masses, cx + s * np.cos(angle), cy + s * np.sin(angle)), angle


@register_scenario("vortex")
class Vortex(Scenario):
    """Superfluid vortices (Berezhiani & Khoury 2015; lensing images: DeepLense, PyAutoLens Model A/B
    "vort"): ``n_vortices`` lines of ``n_points`` equal point masses of total ``mass`` each,
    full length ``length``, random orientations. Recorded: mass, length, angle (of the first line)."""

    Params = VortexParams
    record_units = {"vortex_mass": "Msun", "vortex_length": "arcsec", "vortex_angle": "rad", "n_vortices": "count"}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: VortexParams = self.params  # type: ignore[assignment]
        components: list[Component] = []
        total, angles, lengths = 0.0, [], []
        for _ in range(p.n_vortices):
            mass, length = draw(p.mass, rng), draw(p.length, rng)
            line, angle = vortex_line(ctx, rng, p.n_points, mass, length, p.offset_max)
            components += line
            total += mass
            angles.append(angle)
            lengths.append(length)
        summary = {
            "n_subhalos": float(len(components)),
            "sub_mass_total": float(total),
            "vortex_mass": float(total / p.n_vortices),
            "vortex_length": float(lengths[0]),
            "vortex_angle": angles[0],
            "n_vortices": float(p.n_vortices),
        }
        return Substructure(components, summary)


# ---- sphere (PyAutoLens Model A/B) -------------------------------------------------------------
class SphereParams(ScenarioParams):
    """PyAutoLens Model A/B "sphere": equal point masses uniformly in radius within ``r_max``."""

    n_points: int = Field(25, ge=1)
    mass: Param = Field(1e10, description="total mass of the point masses [Msun]")
    r_max: float = Field(1.0, gt=0, description="largest radius from the lens centre [arcsec]")


@register_scenario("sphere")
class Sphere(Scenario):
    """A spherical clump of substructure: ``n_points`` equal point masses at radius U(0, r_max)
    and angle U(0, 2π) (PyAutoLens Model A/B, Alexander et al. 2023)."""

    Params = SphereParams

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: SphereParams = self.params  # type: ignore[assignment]
        mass = draw(p.mass, rng)
        r = rng.uniform(0.0, p.r_max, size=p.n_points)
        phi = rng.uniform(0.0, 2.0 * np.pi, size=p.n_points)
        masses = np.full(p.n_points, mass / p.n_points)
        comps = point_masses(ctx, masses, ctx.center_x + r * np.cos(phi), ctx.center_y + r * np.sin(phi))
        return Substructure(comps, {"n_subhalos": float(p.n_points), "sub_mass_total": float(mass)})


# ---- axion / ultralight dark matter ----------------------------------------------------------
AXION_REFERENCE_MASS_EV = 1e-22  # m_a at which the DeepLense vortex half-length is 0.03″


def axion_vortex_half_length(m_axion_ev: float | np.ndarray, half_length_ref: float = 0.03) -> float | np.ndarray:
    """DeepLense recipe: half-length L = 0.03″ × (1e-22 eV / m_a), the de Broglie scaling."""
    return half_length_ref * AXION_REFERENCE_MASS_EV / np.asarray(m_axion_ev)


class AxionDeepLenseParams(ScenarioParams):
    """DeepLense axion recipe: m_a = 10^U(−24, −22) eV; a vortex of 100 equal point masses of total
    3e10 Msun through the lens centre, half-length 0.03″ × (1e-22 eV / m_a)."""

    recipe: Literal["deeplense"] = "deeplense"
    log10_m_axion: Param = Field({"dist": "uniform", "low": -24.0, "high": -22.0}, description="log10 m_a [eV]")
    n_points: int = Field(100, ge=2)
    mass: Param = Field(3e10, description="total vortex mass [Msun]")
    half_length_ref: float = Field(0.03, gt=0, description="half-length at m_a = 1e-22 eV [arcsec]")


class AxionPyHaloParams(PyHaloPopulation):
    """pyHalo's ULDM preset: halos with solitonic cores (CNFW + ULDM profiles), Schive (2016) mass
    function, optional granule fluctuations (``flucs``; costly: up to 50,000 blobs)."""

    recipe: Literal["pyhalo"] = "pyhalo"
    log10_m_axion: Param = Field(-21.0, description="log10 m_a [eV] (pyHalo's log10_m_uldm)")
    flucs: bool = Field(False, description="add granule fluctuations in the host halo")
    flucs_args: dict[str, Any] = Field(default_factory=dict, description="pyHalo's flucs_args")
    log10_fluc_amplitude: float = -0.8
    uldm_plaw: float = Field(1.0 / 3.0, description="core radius–halo mass power law exponent")


@register_scenario("axion")
class Axion(_RecipeScenario):
    """Ultralight axion dark matter; the axion mass m_a is recorded as ``log10_m_axion`` (the
    regression target). ``recipe: deeplense``: a vortex whose length follows the de Broglie
    wavelength (DeepLense Model I–III; Alexander et al. 2021). ``recipe: pyhalo``: pyHalo's ULDM
    preset (Laroche et al. 2022, PRD 106, 023533)."""

    recipes = {"deeplense": AxionDeepLenseParams, "pyhalo": AxionPyHaloParams}
    default_recipe = "deeplense"
    record_units = {"log10_m_axion": "log10 eV", "vortex_mass": "Msun", "vortex_length": "arcsec", "vortex_angle": "rad", **PYHALO_RECORD_UNITS}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p = self.params
        log_m = draw(p.log10_m_axion, rng)  # type: ignore[union-attr]
        if isinstance(p, AxionPyHaloParams):
            kwargs = {
                **p.preset_kwargs(rng),
                "log10_m_uldm": log_m,
                "flucs": p.flucs,
                "flucs_args": dict(p.flucs_args),
                "log10_fluc_amplitude": p.log10_fluc_amplitude,
                "uldm_plaw": p.uldm_plaw,
            }
            return pyhalo_substructure("ULDM", ctx, kwargs, rng, {"log10_m_axion": log_m})
        assert isinstance(p, AxionDeepLenseParams)
        mass = draw(p.mass, rng)
        length = 2.0 * float(axion_vortex_half_length(10.0**log_m, p.half_length_ref))
        comps, angle = vortex_line(ctx, rng, p.n_points, mass, length, 0.0)
        summary = {
            "n_subhalos": float(p.n_points),
            "sub_mass_total": float(mass),
            "log10_m_axion": log_m,
            "vortex_mass": float(mass),
            "vortex_length": length,
            "vortex_angle": angle,
        }
        return Substructure(comps, summary)


def make_scenario(name: str, params: dict | None = None) -> Scenario:
    """Build a registered scenario from its name and (validated) parameters."""
    import json

    return _make_scenario(name, json.dumps(params or {}, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _make_scenario(name: str, params_json: str) -> Scenario:
    """Scenarios hold only their validated parameters: one instance per (name, params)."""
    import json

    cls = SCENARIOS.get(name)
    return cls(cls.validate_params(json.loads(params_json)))
