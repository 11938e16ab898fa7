"""Dark-matter scenarios: each draws the substructure that distinguishes it from a smooth lens.

Adding a scenario means writing one class with a pydantic ``Params`` model and ``draw`` and
registering it with ``@register_scenario("name")`` (one module per scenario here). Every value a
scenario draws goes into the image's record (``summary``), declared with its unit and a one-line
description in the class's ``record_fields`` (beyond the common ``COMMON_RECORD_FIELDS``).
"""

from deeplense.physics.scenarios import axion, cdm, sidm, smooth, vortex, wdm  # noqa: F401  (register)
from deeplense.physics.scenarios.axion import axion_vortex_half_length
from deeplense.physics.scenarios.base import (
    COMMON_RECORD_FIELDS,
    SCENARIOS,
    RecordField,
    LensContext,
    Scenario,
    ScenarioParams,
    Substructure,
    make_scenario,
    point_masses,
    power_law_masses,
    register_scenario,
)

__all__ = [
    "COMMON_RECORD_FIELDS",
    "SCENARIOS",
    "RecordField",
    "LensContext",
    "Scenario",
    "ScenarioParams",
    "Substructure",
    "axion_vortex_half_length",
    "make_scenario",
    "point_masses",
    "power_law_masses",
    "register_scenario",
]
