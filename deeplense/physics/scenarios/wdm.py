"""Warm dark matter: pyHalo's WDM preset."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from deeplense.physics.distributions import LOG10_MASS, draw, param_in
from deeplense.physics.scenarios.base import LensContext, RecordField, Scenario, Substructure, register_scenario
from deeplense.physics.scenarios.pyhalo_population import PYHALO_RECORD_FIELDS, PyHaloPopulation, pyhalo_substructure


class WDMParams(PyHaloPopulation):
    """pyHalo's WDM preset: Lovell (2020) suppression of the subhalo and field mass functions
    below the half-mode mass 10^log_mc, Bose (2016) concentrations."""

    log_mc: param_in(LOG10_MASS) = Field(7.5, description="log10 half-mode mass [Msun]: the physics knob")


@register_scenario("wdm")
class WDM(Scenario):
    """Warm dark matter via pyHalo's WDM preset (Gilman et al. 2020; mass function of Lovell 2020,
    MNRAS 493, 1782). Recorded: ``log_mc``, halo counts and mass in halos."""

    Params = WDMParams
    record_fields = {
        "log_mc": RecordField("log10 Msun", "log10 of the half-mode mass drawn for the image"),
        **PYHALO_RECORD_FIELDS,
    }

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: WDMParams = self.params  # type: ignore[assignment]
        log_mc = draw(p.log_mc, rng)
        kwargs = {**p.preset_kwargs(rng), "log_mc": log_mc}
        return pyhalo_substructure("WDM", ctx, kwargs, rng, {"log_mc": log_mc})
