"""Axion / ultralight dark matter: the DeepLense vortex recipe or pyHalo's ULDM preset."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from deeplense.physics.distributions import Domain, PositiveParam, draw, param_in
from deeplense.physics.scenarios.base import LensContext, RecordField, ScenarioParams, Substructure, RecipeScenario, register_scenario
from deeplense.physics.scenarios.pyhalo_population import PYHALO_RECORD_FIELDS, PyHaloPopulation, pyhalo_substructure
from deeplense.physics.scenarios.vortex import vortex_line


AXION_REFERENCE_MASS_EV = 1e-22  # m_a at which the DeepLense vortex half-length is 0.03″
# Ultralight axions: a guard against writing the mass itself (1e-22) for its log10 (-22).
Log10AxionMass = param_in(Domain(-30.0, -10.0, closed_low=True, closed_high=True, why="log10 of the axion mass in eV: write -22 for 1e-22 eV"))


def axion_vortex_half_length(m_axion_ev: float | np.ndarray, half_length_ref: float = 0.03) -> float | np.ndarray:
    """DeepLense recipe: half-length L = 0.03″ × (1e-22 eV / m_a), the de Broglie scaling."""
    return half_length_ref * AXION_REFERENCE_MASS_EV / np.asarray(m_axion_ev)


class AxionDeepLenseParams(ScenarioParams):
    """DeepLense axion recipe: m_a = 10^U(−24, −22) eV; a vortex of 100 equal point masses of total
    3e10 Msun through the lens centre, half-length 0.03″ × (1e-22 eV / m_a)."""

    recipe: Literal["deeplense"] = "deeplense"
    log10_m_axion: Log10AxionMass = Field({"dist": "uniform", "low": -24.0, "high": -22.0}, description="log10 m_a [eV]")
    n_points: int = Field(100, ge=2)
    mass: PositiveParam = Field(3e10, description="total vortex mass [Msun]")
    half_length_ref: float = Field(0.03, gt=0, description="half-length at m_a = 1e-22 eV [arcsec]")


class AxionPyHaloParams(PyHaloPopulation):
    """pyHalo's ULDM preset: halos with solitonic cores (CNFW + ULDM profiles), Schive (2016) mass
    function, optional granule fluctuations (``flucs``; costly: up to 50,000 blobs)."""

    recipe: Literal["pyhalo"] = "pyhalo"
    log10_m_axion: Log10AxionMass = Field(-21.0, description="log10 m_a [eV] (pyHalo's log10_m_uldm)")
    flucs: bool = Field(False, description="add granule fluctuations in the host halo")
    flucs_args: dict[str, Any] = Field(default_factory=dict, description="pyHalo's flucs_args")
    log10_fluc_amplitude: float = -0.8
    uldm_plaw: float = Field(1.0 / 3.0, description="core radius–halo mass power law exponent")


@register_scenario("axion")
class Axion(RecipeScenario):
    """Ultralight axion dark matter; the axion mass m_a is recorded as ``log10_m_axion`` (the
    regression target). ``recipe: deeplense``: a vortex whose length follows the de Broglie
    wavelength (DeepLense Model I–III; Alexander et al. 2021). ``recipe: pyhalo``: pyHalo's ULDM
    preset (Laroche et al. 2022, PRD 106, 023533)."""

    recipes = {"deeplense": AxionDeepLenseParams, "pyhalo": AxionPyHaloParams}
    default_recipe = "deeplense"
    recipe_records = {
        "deeplense": ("log10_m_axion", "vortex_mass", "vortex_length", "vortex_angle"),
        "pyhalo": ("log10_m_axion", *PYHALO_RECORD_FIELDS),
    }
    record_fields = {
        "log10_m_axion": RecordField("log10 eV", "log10 of the axion mass m_a drawn for the image"),
        "vortex_mass": RecordField("Msun", "total mass of the vortex's point masses"),
        "vortex_length": RecordField("arcsec", "full length of the vortex, 2 × half_length_ref × (1e-22 eV / m_a)"),
        "vortex_angle": RecordField("rad", "orientation of the vortex, counter-clockwise from the x axis"),
        **PYHALO_RECORD_FIELDS,
    }
    record_params = {"vortex_mass": "mass", "vortex_length": "length", "vortex_angle": "angle"}

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
            "n_halos": float(p.n_points),
            "halo_mass_total": float(mass),
            "log10_m_axion": log_m,
            "vortex_mass": float(mass),
            "vortex_length": length,
            "vortex_angle": angle,
        }
        return Substructure(comps, summary)
