"""The layers of the package, as README's "Architecture" table writes them down: every import
between parts of ``deeplense`` is one the table allows, and the parts it says never import a
library (physics: torch; models: lenstronomy) do not, neither in their code nor when loaded."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "deeplense"


def _section(title: str) -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _table() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(part -> parts it may import, part -> libraries it never imports), from the documentation (docs/architecture.md)."""
    rows = [line for line in _section("Architecture").splitlines() if line.startswith("| `")]
    parsed = [[re.findall(r"`([^`]+)`", cell) for cell in row.strip("|").split("|")] + [row] for row in rows]
    foundation = set(parsed[0][0]) | {"deeplense"}  # the first row; `deeplense` itself holds the version
    parts = {name for cells in parsed for name in cells[0]}
    allowed, never = {}, {}
    for names, _job, may, nots, row in parsed:
        may_set = set(may) | foundation
        if "everything" in row.split("|")[3]:
            may_set |= parts
        for name in names:
            allowed[name] = may_set | {name}
            never[name] = set(nots)
    return allowed, never


def _part(module: str) -> str:
    """``deeplense.physics.system`` -> ``physics``; ``deeplense`` -> ``deeplense``."""
    return module.split(".")[1] if "." in module else module


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def _imports() -> list[tuple[str, str, int, str]]:
    """(module file, importing part, line, imported module) of every import the package runs."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        skip = _type_checking_only(tree)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join(base + [node.module] if node.module else base)]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), _part(module), node.lineno, name) for name in names]
    return found


def test_the_table_names_every_part_of_the_package():
    allowed, _ = _table()
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert parts - {"__init__"} == set(allowed) - {"deeplense"}


def test_every_import_between_parts_is_one_the_table_allows():
    allowed, _ = _table()
    wrong = [
        f"{path}:{line}: {part} imports {name}"
        for path, part, line, name in _imports()
        if name.split(".")[0] == "deeplense" and _part(name) not in allowed[part]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_part_imports_a_library_the_table_rules_out():
    _, never = _table()
    assert never["physics"] >= {"torch"} and never["models"] >= {"lenstronomy"}  # project rules
    wrong = [f"{path}:{line}: {part} imports {name}" for path, part, line, name in _imports() if name.split(".")[0] in never[part]]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("part", ["physics", "models", "simulation", "storage"])
def test_loading_a_part_loads_no_library_it_rules_out(part):
    """Not even through the parts it imports (all of a part's modules, in a fresh process; a
    module of a renderer installed in its own environment, PyAutoLens, is left out)."""
    _, never = _table()
    code = (
        "import importlib, pkgutil, sys, deeplense.{p} as p\n"
        "for m in pkgutil.walk_packages(p.__path__, 'deeplense.{p}.'):\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != 'autolens':\n"
        "            raise\n"
        "print(' '.join(sorted(set(sys.argv[1:]) & {{n.split('.')[0] for n in sys.modules}})))"
    ).format(p=part)
    out = subprocess.run([sys.executable, "-c", code, *never[part]], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "", f"loading deeplense.{part} loads {out.stdout.strip()}"
