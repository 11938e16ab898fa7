"""Self-interacting dark matter: pyHalo's SIDM presets."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from deeplense.physics.scenarios.base import LensContext, RecordField, Scenario, Substructure, register_scenario
from deeplense.physics.scenarios.pyhalo_population import PYHALO_RECORD_FIELDS, PyHaloPopulation, pyhalo_substructure
from deeplense.validation import problem


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
        for name in ("subhalos", "field_halos"):
            ranges, probs = getattr(self, f"mass_ranges_{name}"), getattr(self, f"probabilities_{name}")
            if len(ranges) != len(probs):
                raise problem(
                    f"needs the same length as mass_ranges_{name} ({len(ranges)}): one probability per mass bin",
                    f"probabilities_{name}", value=probs,
                )
            for i, q in enumerate(probs):
                if not 0 <= q <= 1:
                    raise problem("must lie in [0, 1] (a collapsed fraction)", f"probabilities_{name}", i, value=q)
            for i, (low, high) in enumerate(ranges):
                if not low < high:
                    raise problem("a mass bin (log10 low, log10 high) needs low < high", f"mass_ranges_{name}", i, value=[low, high])
        if self.model == "parametric" and len(self.log10_effective_cross_section) != len(self.mass_ranges_subhalos):
            raise problem(
                f"model parametric needs one value per mass_ranges_subhalos bin ({len(self.mass_ranges_subhalos)})",
                "log10_effective_cross_section", value=self.log10_effective_cross_section,
            )
        return self


@register_scenario("sidm")
class SIDM(Scenario):
    """Self-interacting dark matter via pyHalo's SIDM presets (Gilman et al. 2021, 2023; Yang et al.
    2023): core-collapsed halos rendered as cored-truncated NFW (TNFWC) or cored power laws.
    Recorded: the number of collapsed/cored halos beside the common summary."""

    Params = SIDMParams
    record_fields = {
        "sidm_n_collapsed": RecordField("count", "halos rendered core-collapsed or cored (TNFWC or SPL_CORE profile)"),
        **PYHALO_RECORD_FIELDS,
    }

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
