"""The `deeplense` command line exposes every step the rules call."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "deeplense", *args], capture_output=True, text=True, cwd=ROOT)


def test_help_lists_the_steps():
    out = run("--help")
    assert out.returncode == 0
    for step in ("simulate", "store", "gallery", "train", "evaluate", "leaderboard", "check-config", "schema", "regenerate"):
        assert step in out.stdout


def test_check_config(tmp_path):
    ok = run("check-config", "config.yaml")
    assert ok.returncode == 0 and "dataset demo: 64×64 px; no_sub=200, cdm=200, wdm=200, sidm=200, vortex=200, axion=200; 12 shards" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config.yaml").read_text().replace("scenario: vortex", "scenario: fuzzy"))
    out = run("check-config", str(bad))
    assert out.returncode == 1 and "unknown dark-matter scenario 'fuzzy'" in out.stderr
