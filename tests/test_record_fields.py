"""Record fields explained: every field an image records is declared with its unit and a one-line
description (next to the scenario that writes it), and docs/datasets.md's table is the code's."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from deeplense.config import ConfigError
from deeplense.experiment import load_config
from deeplense.physics import record_docs
from deeplense.physics.records import BASE_RECORD_FIELDS, INTERPOL_FIELDS, LENS_GAMMA_FIELD, LENS_LIGHT_FIELDS, LENS_MASS_FIELD, renamed_note
from deeplense.physics.scenarios import SCENARIOS, LensContext, RecordField, Scenario, Substructure, make_scenario
from tests.conftest import TINY_CONFIG

ROOT = Path(__file__).resolve().parents[1]
DATASETS_PAGE = ROOT / "docs" / "datasets.md"
CTX = LensContext(0.5, 1.0, 70.0, 0.3, 0.05, 0.0, 0.0)


def _declared() -> list[tuple[str, RecordField]]:
    fields = [*BASE_RECORD_FIELDS.items(), *INTERPOL_FIELDS.items(), *LENS_MASS_FIELD.items(), *LENS_GAMMA_FIELD.items(), *LENS_LIGHT_FIELDS.items()]
    return fields + [item for name in SCENARIOS for item in SCENARIOS.get(name).record_fields.items()]


def test_every_declared_field_has_a_unit_and_a_one_line_description():
    for name, field in _declared():
        assert field.unit and field.description and "\n" not in field.description and "|" not in field.description, name


# point-mass recipes draw in milliseconds; the pyHalo ones are checked in test_halo_params
@pytest.mark.parametrize(("scenario", "params"), [
    ("no_sub", {}), ("cdm", {"n_subhalos": 4}), ("vortex", {"n_vortices": 2, "n_points": 5}),
    ("sphere", {"n_points": 3}), ("axion", {"n_points": 5}),
])
def test_a_scenario_records_exactly_the_fields_it_declares(scenario, params):
    s = make_scenario(scenario, params)
    summary = s.draw(CTX, np.random.default_rng(0)).summary
    assert set(summary) == s.recorded(s.params)
    assert summary["n_halos"] == len(s.draw(CTX, np.random.default_rng(0)).components)


def test_the_documentation_table_is_the_code():
    text = DATASETS_PAGE.read_text()
    (block,) = record_docs.BLOCK.finditer(text)
    for name, field in _declared():
        assert f"| `{name}` | {field.unit} |" in block["body"] and field.description in block["body"], name
    assert record_docs.check(DATASETS_PAGE) == []


def test_a_drifted_table_is_caught(tmp_path):
    text = DATASETS_PAGE.read_text()
    drifted = text.replace("| `n_halos` | count |", "| `n_halos` | Msun |", 1)
    assert drifted != text
    page = tmp_path / "page.md"
    page.write_text(drifted)
    (problem,) = record_docs.check(page)
    assert "Msun" in problem and "deeplense quote --update" in problem
    assert record_docs.refresh(drifted) == text


def test_a_new_scenario_brings_its_own_field_descriptions():
    """A scenario is a registry entry: its fields and their descriptions come with it."""

    @SCENARIOS.register("test_clump")
    class Clump(Scenario):
        record_fields = {"clump_radius": RecordField("arcsec", "radius of the test clump")}

        def draw(self, ctx, rng):
            return Substructure([], {"n_halos": 0.0, "halo_mass_total": 0.0, "clump_radius": 0.1})

    try:
        assert Clump.record_units == {"clump_radius": "arcsec"}
        assert "| `clump_radius` | arcsec | test_clump | radius of the test clump |" in record_docs.fields_table()
    finally:
        SCENARIOS.unregister("test_clump")
    assert "clump_radius" not in record_docs.fields_table()


def test_an_old_field_name_is_told_its_new_name():
    assert renamed_note("n_subhalos") == "; record field 'n_subhalos' was renamed to 'n_halos' in deeplense 0.9"
    assert "'subhalo_mass_total'" in renamed_note("mae.mass_in_subhalos") and renamed_note("n_halos") == ""
    raw = yaml.safe_load(TINY_CONFIG.read_text())
    raw["sweeps"] = {"m": {"dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 3e10],
                           "models": ["vortex_length"], "metric": "mae.sub_mass_total"}}
    with pytest.raises(ConfigError, match=r"sweeps\.m\.metric = 'mae\.sub_mass_total': not a metric .*"
                                          r"record field 'sub_mass_total' was renamed to 'halo_mass_total'"):
        load_config(raw)
