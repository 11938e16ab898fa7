"""Dark-matter scenarios: each draws the substructure that distinguishes it from a smooth lens.

Adding a scenario means writing one class with a pydantic ``Params`` model and ``draw`` and
registering it with ``@register_scenario("name")``. Every value a scenario draws goes into the
image's record (``summary``) with its unit in ``record_units``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deeplense.physics.components import Component
from deeplense.physics.distributions import Param, draw
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

    def theta_e_of_mass(self, mass_msun: np.ndarray) -> np.ndarray:
        from deeplense.physics.cosmology import point_mass_einstein_radius  # astropy: only when drawing

        return np.asarray(
            point_mass_einstein_radius(mass_msun, self.z_lens, self.z_source, self.H0, self.Om0, self.Ob0)
        )


@dataclass(frozen=True)
class Substructure:
    """Drawn deflectors and the summary recorded beside the image."""

    components: list[Component]
    summary: dict[str, float]


class ScenarioParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scenario:
    """Base class: ``Params`` validates the config, ``draw`` makes one image's substructure."""

    Params: ClassVar[type[ScenarioParams]] = ScenarioParams
    record_units: ClassVar[dict[str, str]] = {}

    def __init__(self, params: ScenarioParams) -> None:
        self.params = params

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


@register_scenario("no_sub")
class NoSubstructure(Scenario):
    """The smooth main lens alone: the null hypothesis every other scenario is compared with."""

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        return Substructure([], {"n_subhalos": 0.0, "sub_mass_total": 0.0})


class CDMPointMassParams(ScenarioParams):
    """DeepLense "Model I" CDM recipe. The original code used β = −0.9 while its docstring said
    −1.9; β is a parameter here, default −1.9 (the CDM subhalo mass-function slope)."""

    n_subhalos: int = Field(25, ge=0, description="number of point-mass subhalos")
    m_min: float = Field(1e6, gt=0, description="lowest subhalo mass [Msun]")
    m_max: float = Field(1e10, gt=0, description="highest subhalo mass [Msun]")
    beta: float = Field(-1.9, description="mass-function slope: dN/dm ∝ m^beta")
    r_min: float = Field(0.25, ge=0, description="smallest projected radius from the lens centre [arcsec]")
    r_max: float = Field(2.0, gt=0, description="largest projected radius [arcsec]")

    @model_validator(mode="after")
    def _ranges(self) -> "CDMPointMassParams":
        if not self.m_min < self.m_max:
            raise ValueError(f"m_min ({self.m_min}) must be below m_max ({self.m_max})")
        if not self.r_min < self.r_max:
            raise ValueError(f"r_min ({self.r_min}) must be below r_max ({self.r_max})")
        return self


@register_scenario("cdm")
class CDMPointMass(Scenario):
    """Cold dark matter: subhalos as point masses with a power-law mass function, placed uniformly
    in radius and angle around the lens (DeepLense Model I recipe; Alexander et al. 2020)."""

    Params = CDMPointMassParams
    record_units = {"cdm_beta": "1", "sub_mass_max": "Msun"}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: CDMPointMassParams = self.params  # type: ignore[assignment]
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


class VortexParams(ScenarioParams):
    """Superfluid dark-matter vortex: a straight line of equal point masses."""

    n_points: int = Field(100, ge=2, description="point masses along the vortex line")
    mass: Param = Field(3e10, description="total vortex mass [Msun]")
    length: Param = Field(1.0, description="full length of the line [arcsec]")
    offset_max: float = Field(0.0, ge=0, description="largest offset of the line centre from the lens centre [arcsec]")


@register_scenario("vortex")
class Vortex(Scenario):
    """A superfluid vortex: ``n_points`` equal point masses on a line of length ``length`` through
    (or near) the lens centre, at a uniformly random orientation (PyAutoLens Model A/B "vort" and
    the DeepLense axion recipe are presets of this)."""

    Params = VortexParams
    record_units = {"vortex_mass": "Msun", "vortex_length": "arcsec", "vortex_angle": "rad"}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: VortexParams = self.params  # type: ignore[assignment]
        mass = draw(p.mass, rng)
        length = draw(p.length, rng)
        angle = float(rng.uniform(0.0, np.pi))
        off_r = float(rng.uniform(0.0, p.offset_max)) if p.offset_max > 0 else 0.0
        off_phi = float(rng.uniform(0.0, 2.0 * np.pi))
        cx = ctx.center_x + off_r * np.cos(off_phi)
        cy = ctx.center_y + off_r * np.sin(off_phi)
        s = np.linspace(-length / 2.0, length / 2.0, p.n_points)
        masses = np.full(p.n_points, mass / p.n_points)
        components = point_masses(ctx, masses, cx + s * np.cos(angle), cy + s * np.sin(angle))
        summary = {
            "n_subhalos": float(p.n_points),
            "sub_mass_total": float(mass),
            "vortex_mass": float(mass),
            "vortex_length": float(length),
            "vortex_angle": angle,
        }
        return Substructure(components, summary)


def make_scenario(name: str, params: dict | None = None) -> Scenario:
    """Build a registered scenario from its name and (validated) parameters."""
    cls = SCENARIOS.get(name)
    return cls(cls.Params.model_validate(params or {}))
