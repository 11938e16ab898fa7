"""The documentation's table of per-image record fields, generated from the declarations (the
fields every image records, those a dataset setting adds, and each registered scenario's own),
so the page cannot drift from the code. A generated block sits between two markers::

    <!-- generated: record fields -->
    | field | unit | recorded by | description |
    <!-- /generated -->

``deeplense quote --update FILE`` rewrites it; the test suite checks it."""

from __future__ import annotations

import re
from pathlib import Path

from deeplense.physics import records
from deeplense.text_blocks import first_difference
from deeplense.physics.scenarios import COMMON_RECORD_FIELDS, SCENARIOS, RecordField

BLOCK = re.compile(r"(<!-- generated: record fields -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)

_SERSIC_SOURCE = {f"source_{k}" for k in records.SERSIC_FIELDS}
# What records each field that is not a scenario's own (in the order of the table).
_SETTINGS: list[tuple[str, dict[str, RecordField]]] = [
    ("every image", {k: f for k, f in records.BASE_RECORD_FIELDS.items() if k not in COMMON_RECORD_FIELDS and k not in _SERSIC_SOURCE}),
    ("`source.profile: SERSIC_ELLIPSE` (the default)", {k: f for k, f in records.BASE_RECORD_FIELDS.items() if k in _SERSIC_SOURCE}),
    ("`source.profile: INTERPOL`", records.INTERPOL_FIELDS),
    ("`lens.mass` set", records.LENS_MASS_FIELD),
    ("`lens.profile: EPL`", records.LENS_GAMMA_FIELD),
    ("`lens_light` set", records.LENS_LIGHT_FIELDS),
    ("every scenario", COMMON_RECORD_FIELDS),
]


def _scenario_rows() -> dict[tuple[str, RecordField], list[str]]:
    """(field, its declaration) -> the scenarios (and recipes) that record it, in registration order."""
    rows: dict[tuple[str, RecordField], list[str]] = {}
    for name, scenario in SCENARIOS.items():
        recipes = getattr(scenario, "recipe_records", {})
        for field, declared in scenario.record_fields.items():
            filled_by = [r for r, fields in recipes.items() if field in fields]
            who = f"{name} ({', '.join(filled_by)})" if recipes and len(filled_by) < len(recipes) else name
            rows.setdefault((field, declared), []).append(who)
    return rows


def fields_table() -> str:
    """The Markdown table of every declared record field: name, unit, what records it, description."""
    lines = ["| field | unit | recorded by | description |", "|---|---|---|---|"]
    for who, fields in _SETTINGS:
        lines += [f"| `{k}` | {f.unit} | {who} | {f.description} |" for k, f in fields.items()]
    for (field, f), scenarios in _scenario_rows().items():
        lines.append(f"| `{field}` | {f.unit} | {', '.join(scenarios)} | {f.description} |")
    return "\n".join(lines) + "\n"


def refresh(text: str) -> str:
    """``text`` with every record-fields block regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + fields_table() + m.group(3), text)


def check(path: str | Path) -> list[str]:
    """Problems of a Markdown file's record-fields blocks: the first line that differs from the code."""
    problems = []
    for m in BLOCK.finditer(Path(path).read_text()):
        if m["body"] != fields_table():
            line, shown, should = first_difference(m["body"], fields_table())
            problems.append(f"{path}: record-fields table line {line} reads {shown!r}; the code declares {should!r} "
                            f"(regenerate with `deeplense quote --update {path}`)")
    return problems
