"""The smooth lens: no substructure."""

from __future__ import annotations

import numpy as np

from deeplense.physics.scenarios.base import LensContext, Scenario, Substructure, register_scenario


@register_scenario("no_sub")
class NoSubstructure(Scenario):
    """The smooth main lens alone: the null hypothesis every other scenario is compared with."""

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        return Substructure([], {"n_halos": 0.0, "halo_mass_total": 0.0})
