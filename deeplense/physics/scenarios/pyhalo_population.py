"""Knobs shared by the pyHalo-backed scenarios and the step from a pyHalo preset to substructure."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from deeplense.physics import pyhalo_adapter
from deeplense.physics.components import Component
from deeplense.physics.distributions import NonNegativeParam, draw
from deeplense.physics.scenarios.base import LensContext, RecordField, ScenarioParams, Substructure, require_ordered


class PyHaloPopulation(ScenarioParams):
    """Knobs shared by pyHalo's presets (names and defaults as in pyHalo 1.4.6). Rendering cost
    grows steeply as ``log_mlow`` falls and ``cone_opening_angle_arcsec`` grows: ≈ 5,000 halos
    and several seconds per image at the defaults, ≈ 100 halos at log_mlow 7.5 and a 5″ cone."""

    sigma_sub: NonNegativeParam = Field(0.025, description="subhalo mass-function amplitude at 1e8 Msun [kpc^-2]")
    log_mlow: float = Field(6.0, ge=4, le=11, description="log10 lightest halo rendered [Msun]")
    log_mhigh: float = Field(10.0, ge=5, le=12, description="log10 heaviest halo rendered [Msun]")
    shmf_log_slope: float = Field(-1.9, description="logarithmic slope of the subhalo mass function")
    log_m_host: float = Field(13.3, gt=0, le=20, description="log10 host halo mass [Msun] (13.3 for 2e13 Msun)")
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


# Beside the common n_halos and halo_mass_total (every halo pyHalo rendered, subhalos and
# line-of-sight halos together), what every pyHalo-backed image records.
PYHALO_RECORD_FIELDS = {
    "sigma_sub": RecordField("kpc^-2", "subhalo mass-function amplitude at 1e8 Msun drawn for the image"),
    "n_halos_subhalo": RecordField("count", "subhalos of the main lens's host halo (part of n_halos)"),
    "n_halos_los": RecordField("count", "line-of-sight halos between observer and source (n_halos minus n_halos_subhalo)"),
    "subhalo_mass_total": RecordField("Msun", "total mass of the subhalos counted by n_halos_subhalo (part of halo_mass_total)"),
    "n_halos_fast": RecordField("count", "halos whose lens parameters deeplense's array path computed (bookkeeping)"),
    "n_halos_pyhalo": RecordField("count", "halos whose lens parameters pyHalo's per-halo code computed, a logged fallback (bookkeeping)"),
}


def pyhalo_substructure(
    preset: str, ctx: LensContext, kwargs: dict[str, Any], rng: np.random.Generator, knobs: dict[str, float]
) -> Substructure:
    """Realize a pyHalo preset around the lens centre and summarise it (``n_halos`` counts
    every halo, subhalos and line-of-sight; ``n_halos_subhalo``/``n_halos_los`` split them)."""
    drawn = pyhalo_adapter.population(preset, ctx.z_lens, ctx.z_source, kwargs, ctx.cosmology, rng)
    components = drawn.components
    if ctx.center_x or ctx.center_y:  # pyHalo renders around (0, 0): follow the main lens
        components = [_shifted(c, ctx.center_x, ctx.center_y) for c in components]
    summary = {**drawn.summary, "sigma_sub": float(kwargs["sigma_sub"]), **knobs}
    return Substructure(components, summary)


def _shifted(c: Component, dx: float, dy: float) -> Component:
    if "center_x" not in c.kwargs:
        return c
    kw = {**c.kwargs, "center_x": c.kwargs["center_x"] + dx, "center_y": c.kwargs["center_y"] + dy}
    return Component(c.profile, kw, c.redshift)
