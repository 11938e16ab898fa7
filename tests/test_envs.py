"""envs/deeplense.yaml (conda, for cluster users) pins exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_conda_env_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "deeplense.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip if "==" in p) == sorted(project)
    assert "python=3.11" in env["dependencies"]


def test_autolens_env_shares_the_pins_of_the_main_env():
    """envs/autolens.yaml installs envs/autolens-requirements.txt (as `make autolens-env` does) on
    Python 3.12; every package both environments hold has the same pin (pandas excepted: see the
    requirements file)."""
    env = yaml.safe_load((ROOT / "envs" / "autolens.yaml").read_text())
    assert "python=3.12" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-r autolens-requirements.txt"]
    lines = (ROOT / "envs" / "autolens-requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert pins["autolens"] and pins["jax"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    main = dict(p.split("==") for p in project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"])
    shared = set(pins) & set(main) - {"pandas"}
    assert {"lenstronomy", "numpy", "scipy", "astropy", "zarr", "pydantic"} <= shared
    assert {name: pins[name] for name in shared} == {name: main[name] for name in shared}


def test_citation_file_is_valid_and_names_this_version():
    """CITATION.cff (shown in the README) cites this release and the works it builds on."""
    import deeplense

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"] and cff["license"] == "MIT"
    assert cff["version"] == deeplense.__version__
    titles = " ".join(r["title"] for r in cff["references"])
    for work in ("lenstronomy", "pyHalo", "PyAutoLens", "Dark Matter Substructure", "Snakemake"):
        assert work in titles, work
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
