"""Cold dark matter: the DeepLense point-mass recipe or pyHalo's CDM preset."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from deeplense.physics.scenarios.base import (
    LensContext,
    RecordField,
    ScenarioParams,
    Substructure,
    RecipeScenario,
    point_masses,
    power_law_masses,
    register_scenario,
    require_ordered,
)
from deeplense.physics.scenarios.pyhalo_population import PYHALO_RECORD_FIELDS, PyHaloPopulation, pyhalo_substructure


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
class CDM(RecipeScenario):
    """Cold dark matter. ``recipe: deeplense``: subhalos as point masses with a power-law mass
    function, placed uniformly in radius and angle (DeepLense Model I; Alexander et al. 2020,
    ApJ 893, 15). ``recipe: pyhalo``: pyHalo's CDM preset (Gilman et al. 2020, MNRAS 491, 6077):
    truncated-NFW subhalos and line-of-sight halos, every pyHalo knob exposed."""

    recipes = {"deeplense": CDMPointMassParams, "pyhalo": CDMPyHaloParams}
    default_recipe = "deeplense"
    recipe_records = {"deeplense": ("cdm_beta", "halo_mass_max"), "pyhalo": tuple(PYHALO_RECORD_FIELDS)}
    record_fields = {
        "cdm_beta": RecordField("1", "slope beta of the point-mass subhalo mass function dN/dm ∝ m^beta"),
        "halo_mass_max": RecordField("Msun", "mass of the heaviest point-mass subhalo (0 when none is drawn)"),
        **PYHALO_RECORD_FIELDS,
    }

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
            "n_halos": float(p.n_subhalos),
            "halo_mass_total": float(masses.sum()),
            "halo_mass_max": float(masses.max()) if p.n_subhalos else 0.0,
            "cdm_beta": p.beta,
        }
        return Substructure(point_masses(ctx, masses, x, y), summary)
