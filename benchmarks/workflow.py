"""Workflow benchmark: how long Snakemake takes to plan a paper-scale experiment, and
how much faster simulation runs on 2 cores than on 1 for the same config. Ends with one JSON line.

    python benchmarks/workflow.py           # 12 simulation shards
    python benchmarks/workflow.py --quick   # 4 shards, under a minute
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
ENV = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def snakemake(workdir: Path, config: Path, *args: str) -> float:
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), *args]
    with Timer() as t:
        subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return t.seconds


def simulation_config(tmp: Path, shards: int) -> Path:
    """CDM point-mass images at 64×64 in ``shards`` simulation jobs of 100 images each."""
    cfg = {
        "seed": 3,
        "simulation": {"shard_size": 100},
        "datasets": {"speed": {"classes": [{"name": "cdm", "scenario": "cdm", "n_images": shards * 100}]}},
    }
    path = tmp / "speed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    paper = ROOT / "benchmarks" / "configs" / "paper_scale.yaml"
    with tempfile.TemporaryDirectory(prefix="deeplense-wf-") as tmp:
        tmp = Path(tmp)
        dry = min(snakemake(tmp / "paper", paper, "--dry-run") for _ in range(2))
        config = simulation_config(tmp, 4 if args.quick else 12)
        # Alternate the core counts (1, 2, 2, 1) and keep each one's best run, so load that
        # changes during the benchmark does not favour either side; the load is recorded.
        walls: dict[int, float] = {}
        loads = []
        for run, cores in enumerate((1, 2, 2, 1)):
            loads.append({"cores": cores, "load_avg_1min": round(os.getloadavg()[0], 2)})
            seconds = snakemake(tmp / f"run{run}", config, "--cores", str(cores), "--until", "simulate_shard")
            walls[cores] = min(walls.get(cores, float("inf")), seconds)
        n_shards = len(list((tmp / "run0" / "results/datasets/speed/shards").glob("*/*.zarr")))
    result = {
        "benchmark": "workflow",
        "quick": args.quick,
        "paper_scale_dry_run_s": round(dry, 2),
        "paper_scale_jobs": "6 classes x 30000 images in 1000-image shards, 30 models",
        "simulation_shards": n_shards,
        "simulation_wall_s": {"cores_1": round(walls[1], 2), "cores_2": round(walls[2], 2)},
        "speedup_2_vs_1_cores": round(walls[1] / walls[2], 2),
        "load_before_each_run": loads,
    }
    print(f"paper-scale dry run: {dry:.1f} s; simulation 1 core {walls[1]:.1f} s, 2 cores {walls[2]:.1f} s")
    emit(result)


if __name__ == "__main__":
    main()
