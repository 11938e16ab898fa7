"""The scenario registry and what every scenario shares: the lens context it draws around, the
substructure it returns, parameter validation, and point-mass helpers."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from deeplense.physics.components import Component
from deeplense.registry import Registry
from deeplense.validation import StrictModel, not_one_of, problem

SCENARIOS: Registry[type["Scenario"]] = Registry("dark-matter scenario")
register_scenario = SCENARIOS.register


@dataclass(frozen=True)
class RecordField:
    """What a per-image record field holds: its unit and a one-line description (written into
    the store's attributes beside each field and into the documentation's field table)."""

    unit: str
    description: str


# Record fields every scenario fills (NaN-free): how much substructure an image holds.
COMMON_RECORD_FIELDS = {
    "n_halos": RecordField(
        "count", "substructure components drawn: subhalos and, with pyHalo, line-of-sight halos; point masses of a vortex or clump"
    ),
    "halo_mass_total": RecordField("Msun", "total mass of the components counted by n_halos"),
}


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
    mass_distances: str = "angular_diameter"  # see deeplense.physics.cosmology.lensing_distances

    @property
    def cosmology(self) -> dict[str, float]:
        return {"H0": self.H0, "Om0": self.Om0, "Ob0": self.Ob0}

    def theta_e_of_mass(self, mass_msun: np.ndarray) -> np.ndarray:
        from deeplense.physics.cosmology import point_mass_einstein_radius  # astropy: only when drawing

        return np.asarray(
            point_mass_einstein_radius(mass_msun, self.z_lens, self.z_source, self.H0, self.Om0, self.Ob0, self.mass_distances)
        )


@dataclass(frozen=True)
class Substructure:
    """Drawn deflectors and the summary recorded beside the image."""

    components: list[Component]
    summary: dict[str, float]


class ScenarioParams(StrictModel):
    """A scenario's parameters: unknown names are refused, naming the closest allowed one."""


def require_ordered(params: ScenarioParams, *pairs: tuple[str, str]) -> Any:
    """``params`` if every (low, high) pair of fields is ordered; else an error naming both."""
    for low, high in pairs:
        lo, hi = getattr(params, low), getattr(params, high)
        if not lo < hi:
            raise problem(f"must be below {high} ({hi:g})", low, value=lo)
    return params


class Scenario:
    """Base class: ``Params`` validates the config, ``draw`` makes one image's substructure."""

    Params: ClassVar[type[ScenarioParams]] = ScenarioParams
    # Every field any image of the scenario may record beyond the common ones, with its unit and
    # description; ``record_units`` (field -> unit) is derived from it for each subclass.
    record_fields: ClassVar[dict[str, RecordField]] = {}
    record_units: ClassVar[dict[str, str]] = {}
    # Record fields that hold a parameter of ``Params`` under another name (``vortex_mass`` ← ``mass``):
    # where a field's prior is read from. A field named as its parameter needs no entry.
    record_params: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.record_units = {name: f.unit for name, f in cls.record_fields.items()}

    def __init__(self, params: ScenarioParams) -> None:
        self.params = params

    @classmethod
    def validate_params(cls, raw: dict[str, Any]) -> ScenarioParams:
        """Validated parameters (defaults resolved); errors name the bad field and value."""
        return cls.Params.model_validate(raw)

    @classmethod
    def recorded(cls, params: ScenarioParams) -> frozenset[str]:
        """The record fields every image drawn with ``params`` fills (what a regression can
        target): the common ones and the scenario's own."""
        return frozenset(COMMON_RECORD_FIELDS) | frozenset(cls.record_fields)

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


class RecipeScenario(Scenario):
    """A scenario with several recipes (populations) chosen by ``params.recipe``."""

    recipes: ClassVar[dict[str, type[ScenarioParams]]] = {}
    default_recipe: ClassVar[str] = ""
    # The scenario's own record fields each recipe fills (a subset of ``record_fields``).
    recipe_records: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def validate_params(cls, raw: dict[str, Any]) -> ScenarioParams:
        recipe = raw.get("recipe", cls.default_recipe)
        if recipe not in cls.recipes:
            raise problem(not_one_of("unknown recipe", recipe, list(cls.recipes)), "recipe", value=recipe)
        return cls.recipes[recipe].model_validate({**raw, "recipe": recipe})

    @classmethod
    def recorded(cls, params: ScenarioParams) -> frozenset[str]:
        return frozenset(COMMON_RECORD_FIELDS) | frozenset(cls.recipe_records[params.recipe])  # type: ignore[attr-defined]


def make_scenario(name: str, params: dict | None = None) -> Scenario:
    """Build a registered scenario from its name and (validated) parameters."""
    return _make_scenario(name, json.dumps(params or {}, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _make_scenario(name: str, params_json: str) -> Scenario:
    """Scenarios hold only their validated parameters: one instance per (name, params)."""
    cls = SCENARIOS.get(name)
    return cls(cls.validate_params(json.loads(params_json)))
