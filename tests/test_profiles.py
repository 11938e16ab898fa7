"""The execution profiles parse and plan the workflow here (no cluster needed for a dry run)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_profile_dry_run(profile, tmp_path):
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(ROOT / "tests/configs/tiny.yaml"), "--profile", str(ROOT / "profiles" / profile), "--dry-run"]
    env = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert "simulate_shard" in text and "train_model" in text and "This was a dry-run" in text
    if profile == "slurm":
        assert "gpu=1" in text and "slurm_partition=gpu" in text
        assert "mem_mb=32000" in text  # training gets the profile's memory
