"""Workflow benchmark: how long Snakemake takes to plan a paper-scale experiment, how much faster
simulation runs on 2 cores than on 1 for the same config, and what an edit of the demo config
regenerates, side by side with the code of commit 0cca48b (shards a dataset's, keyed by its name;
every model reading the whole dataset store). Ends with one JSON line.

    python benchmarks/workflow.py                      # 12 simulation shards; regeneration on the demo / 5
    python benchmarks/workflow.py --regeneration-only  # the regeneration part alone (26 min on 2 busy cores)
    python benchmarks/workflow.py --quick              # 4 shards; the demo / 50, the edits planned, not run

A job costs about 6 CPU seconds before its work (imports): the quick baselines alone (20-odd jobs
each) take about 3 minutes on 2 idle cores.

Regeneration, for each version ("old": a worktree of 0cca48b, its Snakefile and package through
PYTHONPATH; "new": this working tree): a baseline run of the scaled demo (every model 1 epoch, the
shard size scaled too, so the job graph is the demo's), then three edits, each in its own copy of
the baseline's work directory: (1) one class's parameter (wdm log_mc 8.5 → 7.5); (2) a 5-value
sweep over that parameter with resnet18 at every point; (3) a seventh class (no_sub2, a second
no_sub). For each: the dry run's jobs by rule and the models it would retrain (with the dry run's
reasons), and, unless --quick, the real run's wall and CPU seconds (Snakemake and all its jobs:
the children's user + system time) and the models whose checkpoint it rewrote.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, cpu_description, emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
ENV = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
OLD_COMMIT = "0cca48b"  # the last commit whose shards belong to a dataset (results/datasets/<d>/shards)


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


def existing_measurements(tmp: Path, quick: bool) -> dict:
    """The paper-scale dry run and the 1- against 2-core simulation (what this benchmark measured
    before the regeneration part)."""
    paper = ROOT / "benchmarks" / "configs" / "paper_scale.yaml"
    dry = min(snakemake(tmp / "paper", paper, "--dry-run") for _ in range(2))
    config = simulation_config(tmp, 4 if quick else 12)
    # Alternate the core counts (1, 2, 2, 1) and keep each one's best run, so load that
    # changes during the benchmark does not favour either side; the load is recorded.
    walls: dict[int, float] = {}
    loads = []
    for run, cores in enumerate((1, 2, 2, 1)):
        loads.append({"cores": cores, "load_avg_1min": round(os.getloadavg()[0], 2)})
        seconds = snakemake(tmp / f"run{run}", config, "--cores", str(cores), "--until", "simulate_shard")
        walls[cores] = min(walls.get(cores, float("inf")), seconds)
    n_shards = len(list((tmp / "run0" / "results/shards").glob("*/*/*.zarr")))
    print(f"paper-scale dry run: {dry:.1f} s; simulation 1 core {walls[1]:.1f} s, 2 cores {walls[2]:.1f} s")
    return {
        "paper_scale_dry_run_s": round(dry, 2),
        "paper_scale_jobs": "6 classes x 30000 images in 1000-image shards, 30 models",
        "simulation_shards": n_shards,
        "simulation_wall_s": {"cores_1": round(walls[1], 2), "cores_2": round(walls[2], 2)},
        "speedup_2_vs_1_cores": round(walls[1] / walls[2], 2),
        "load_before_each_run": loads,
    }


# ---- regeneration: what an edit of the demo config reruns, old code against new ------------------
FULL_FACTOR = 5  # the demo / 5: 60/40/20/20/60/60 images, 40-image shards (the demo's 9 shards)
QUICK_FACTOR = 50  # the demo / 50: 6/4/4/4/6/6 images, 4-image shards
SWEEP_VALUES = [7.0, 7.5, 8.0, 8.5, 9.0]
EDITS = {
    "param_change": "wdm params.log_mc 8.5 -> 7.5 (no model reads wdm)",
    "sweep_5": f"a model wdm_vs_smooth (resnet18 on no_sub and wdm) and a sweep wdm_mc of classes.wdm.params.log_mc over "
               f"{SWEEP_VALUES} training it at every point, metric accuracy",
    "class_added": "a seventh class no_sub2 (scenario no_sub, as many images as no_sub) appended to demo",
}


def scaled_demo(factor: int) -> dict:
    """config.yaml with each class's images and the shard size divided by ``factor`` (at least the
    images a class needs: 4, one in each split at least), every model at 1 epoch, and each batch at most the
    training images of the smallest class the model learns from (2 at least)."""
    from deeplense.config import split_sizes

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["simulation"]["shard_size"] = max(2, cfg["simulation"]["shard_size"] // factor)
    ds = cfg["datasets"]["demo"]
    for cls in ds["classes"]:
        cls["n_images"] = max(4, cls["n_images"] // factor)  # 4: a class a model reads needs an image in each split
    n = {c["name"]: c["n_images"] for c in ds["classes"]}
    for model in cfg["models"].values():
        model["epochs"] = 1
        learnt = [model["normal_class"]] if model.get("task") == "anomaly" else model.get("classes") or list(n)
        smallest = min(split_sizes(n[c], ds["split"])["train"] for c in learnt)
        model["batch_size"] = max(2, min(model["batch_size"], smallest))
    return cfg


def edited(cfg: dict, edit: str) -> dict:
    from deeplense.config import split_sizes

    out = copy.deepcopy(cfg)
    classes = out["datasets"]["demo"]["classes"]
    if edit == "param_change":
        (wdm,) = [c for c in classes if c["name"] == "wdm"]
        wdm["params"]["log_mc"] = 7.5
    elif edit == "sweep_5":
        # A model that reads wdm: a sweep trains only models that read the swept class (the others
        # would see the same images at every point).
        n = {c["name"]: c["n_images"] for c in classes}
        smallest = min(split_sizes(n[c], out["datasets"]["demo"]["split"])["train"] for c in ("no_sub", "wdm"))
        out["models"]["wdm_vs_smooth"] = {**out["models"]["resnet18"], "classes": ["no_sub", "wdm"],
                                          "batch_size": max(2, min(32, smallest))}
        out["sweeps"] = {"wdm_mc": {"dataset": "demo", "parameter": "classes.wdm.params.log_mc", "values": SWEEP_VALUES,
                                    "models": ["wdm_vs_smooth"], "metric": "accuracy"}}
    elif edit == "class_added":
        (no_sub,) = [c for c in classes if c["name"] == "no_sub"]
        classes.append({"name": "no_sub2", "scenario": "no_sub", "n_images": no_sub["n_images"]})
    else:
        raise ValueError(edit)
    return out


def write_config(path: Path, cfg: dict, env: dict) -> Path:
    """Write ``cfg`` and check it as the version that will read it (``deeplense check-config``)."""
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    check = subprocess.run([str(SNAKEMAKE.with_name("deeplense")), "check-config", str(path)], capture_output=True, text=True, env=env,
                           cwd=path.parent)
    if check.returncode != 0:
        raise SystemExit(f"{path}: refused by deeplense check-config:\n{check.stdout}{check.stderr}")
    return path


class Version:
    """One version of the workflow: its Snakefile and the environment its jobs run in."""

    def __init__(self, name: str, source: Path, env: dict):
        self.name, self.source, self.env = name, source, env

    def cmd(self, workdir: Path, config: Path, *args: str) -> list[str]:
        return [str(SNAKEMAKE), "-s", str(self.source / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), *args]

    def dry_run(self, workdir: Path, config: Path) -> tuple[dict[str, int], list[dict[str, str]]]:
        """The jobs a dry run plans, by rule (as tests/test_workflow.py parses them), and each
        planned job's rule, wildcards and reason."""
        out = subprocess.run(self.cmd(workdir, config, "--dry-run", "--cores", "1"), capture_output=True, text=True, env=self.env,
                             cwd=workdir.parent)
        if out.returncode != 0:
            raise SystemExit(f"{self.name}: dry run failed in {workdir}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
        text = out.stdout + out.stderr
        lines = text.splitlines()
        jobs: dict[str, int] = {}
        if "Job stats:" in lines:
            for line in lines[lines.index("Job stats:") + 3:]:
                parts = line.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    break
                if parts[0] != "total":
                    jobs[parts[0]] = int(parts[1])
        return jobs, planned_job_blocks(lines)

    def run(self, workdir: Path, config: Path) -> dict[str, float]:
        """A real run on 2 cores: wall seconds, and the CPU seconds of Snakemake and its jobs."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with Timer() as t:
            out = subprocess.run(self.cmd(workdir, config, "--cores", "2"), capture_output=True, text=True, env=self.env, cwd=workdir.parent)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode != 0:
            raise SystemExit(f"{self.name}: run failed in {workdir}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"wall_s": round(t.seconds, 2), "cpu_s": round(cpu, 2)}


def planned_job_blocks(lines: list[str]) -> list[dict[str, str]]:
    """Each job of a dry run's listing: rule, wildcards and reason."""
    blocks: list[dict[str, str]] = []
    for line in lines:
        head = re.match(r"^(?:local)?rule (\w+):$", line.strip()) if not line.startswith(" ") else None
        if head:
            blocks.append({"rule": head.group(1)})
        elif blocks and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key in ("wildcards", "reason"):
                blocks[-1][key] = value
    return blocks


def checkpoint_mtimes(workdir: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (workdir / "results/models").glob("*/checkpoint.pt")}


def store_version(workdir: Path) -> str:
    """The deeplense version recorded in the demo store: which package the jobs imported."""
    import json

    attrs = json.loads((workdir / "results/datasets/demo/dataset.zarr/zarr.json").read_text())["attributes"]
    return attrs["software"]["deeplense"]


def package_version(source: Path) -> str:
    return re.search(r'__version__ = "([^"]+)"', (source / "deeplense/__init__.py").read_text()).group(1)


@contextmanager
def old_worktree(tmp: Path):
    """A detached worktree of OLD_COMMIT under ``tmp``, removed afterwards (also on error)."""
    path = tmp / "src-old"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), OLD_COMMIT], check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def ratio(new: float, old: float) -> float | None:
    return round(new / old, 3) if old else None


def regeneration(tmp: Path, quick: bool) -> dict:
    factor = QUICK_FACTOR if quick else FULL_FACTOR
    base_cfg = scaled_demo(factor)
    versions_out: dict[str, dict] = {}
    edits_out: dict[str, dict] = {edit: {"description": text} for edit, text in EDITS.items()}
    path_env = f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with old_worktree(tmp) as old_src:
        # The old Snakefile imports deeplense, and its jobs run the venv's `deeplense` entry point:
        # PYTHONPATH puts the old package before the editable install of this tree for both.
        new_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PATH": path_env}
        old_env = new_env | {"PYTHONPATH": str(old_src)}
        versions = [Version("old", old_src, old_env), Version("new", ROOT, new_env)]
        for version in versions:
            home = tmp / version.name
            home.mkdir()
            base = home / "baseline"
            config = write_config(home / "baseline.yaml", base_cfg, version.env)
            jobs, _ = version.dry_run(base, config)
            run = {"load_avg_1min_before": round(os.getloadavg()[0], 2)} | version.run(base, config)
            # Check that each version really ran its own code: where its shards lie, and the
            # deeplense version its jobs recorded in the store.
            if version.name == "old":
                assert list((base / "results/datasets/demo/shards").glob("*/*.zarr")) and not (base / "results/shards").exists()
            else:
                assert list((base / "results/shards").glob("*/*/*.zarr")) and not (base / "results/datasets/demo/shards").exists()
            recorded, expected = store_version(base), package_version(version.source)
            assert recorded == expected, f"{version.name}: the store records deeplense {recorded}, the source is {expected}"
            versions_out[version.name] = {"deeplense": recorded, "source": OLD_COMMIT if version.name == "old" else "working tree",
                                          "baseline": {"jobs": jobs, "jobs_total": sum(jobs.values()),
                                                       "shard_jobs": jobs.get("simulate_shard", 0), **run}}
            print(f"{version.name} (deeplense {recorded}) baseline: {sum(jobs.values())} jobs, {run['wall_s']:.0f} s wall, "
                  f"{run['cpu_s']:.0f} CPU s")
            for edit in EDITS:
                work = home / edit
                shutil.copytree(base, work, symlinks=True)
                config = write_config(home / f"{edit}.yaml", edited(base_cfg, edit), version.env)
                jobs, blocks = version.dry_run(work, config)
                trains = [b for b in blocks if b["rule"] == "train_model"]
                entry = {
                    "jobs": jobs,
                    "jobs_total": sum(jobs.values()),
                    "shard_jobs": jobs.get("simulate_shard", 0) + jobs.get("simulate_shard_autolens", 0),
                    "retrained_planned": sorted(b.get("wildcards", "").removeprefix("model=") for b in trains),
                    "retrain_reasons": {b.get("wildcards", "").removeprefix("model="): b.get("reason", "") for b in trains},
                }
                if not quick:
                    before = checkpoint_mtimes(work)
                    entry["load_avg_1min_before"] = round(os.getloadavg()[0], 2)
                    entry |= version.run(work, config)
                    after = checkpoint_mtimes(work)
                    entry["retrained_run"] = sorted(m for m, t in after.items() if before.get(m) != t)
                shutil.rmtree(work)  # the next edit starts again from the baseline
                edits_out[edit][version.name] = entry
                timing = "" if quick else f", {entry['wall_s']:.0f} s wall, {entry['cpu_s']:.0f} CPU s"
                print(f"  {edit}: {entry['jobs_total']} jobs ({entry['shard_jobs']} shards){timing}; "
                      f"retrains {', '.join(entry['retrained_planned']) or 'nothing'}")
    for edit, entry in edits_out.items():
        old, new = entry["old"], entry["new"]
        entry["ratio_new_old"] = {"jobs": ratio(new["jobs_total"], old["jobs_total"]),
                                  "shard_jobs": ratio(new["shard_jobs"], old["shard_jobs"])}
        if not quick:
            entry["ratio_new_old"] |= {"cpu_s": ratio(new["cpu_s"], old["cpu_s"]), "wall_s": ratio(new["wall_s"], old["wall_s"])}
    classes = base_cfg["datasets"]["demo"]["classes"]
    return {
        "scale_factor": factor,
        "quick": quick,
        "real_runs_of_edits": not quick,
        "config": {
            "n_images": {c["name"]: c["n_images"] for c in classes},
            "shard_size": base_cfg["simulation"]["shard_size"],
            "epochs": 1,
            "batch_size": {m: c["batch_size"] for m, c in base_cfg["models"].items()},
            "model_classes": {m: c.get("classes") for m, c in base_cfg["models"].items()},
            "cores": 2,
        },
        "old_commit": OLD_COMMIT,
        "versions": versions_out,
        "edits": edits_out,
    }


def summary(regen: dict) -> None:
    print(f"regeneration (demo / {regen['scale_factor']}): new against old")
    for edit, entry in regen["edits"].items():
        old, new, r = entry["old"], entry["new"], entry["ratio_new_old"]
        line = f"  {edit:13s} jobs {old['jobs_total']:3d} -> {new['jobs_total']:3d} (x{r['jobs']}), shards {old['shard_jobs']} -> {new['shard_jobs']}"
        if "cpu_s" in r:
            line += f", CPU {old['cpu_s']:.0f} -> {new['cpu_s']:.0f} s (x{r['cpu_s']}), wall {old['wall_s']:.0f} -> {new['wall_s']:.0f} s"
        line += f"; retrains old [{', '.join(old['retrained_planned'])}] new [{', '.join(new['retrained_planned'])}]"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--regeneration-only", action="store_true", help="skip the paper-scale dry run and the 1- against 2-core simulation")
    args = parser.parse_args()
    result: dict = {"benchmark": "workflow", "quick": args.quick, "cpu": cpu_description()}
    with Timer() as total, tempfile.TemporaryDirectory(prefix="deeplense-wf-") as tmp:
        tmp = Path(tmp)
        if not args.regeneration_only:
            (tmp / "existing").mkdir()
            result |= existing_measurements(tmp / "existing", args.quick)
        (tmp / "regeneration").mkdir()
        result["regeneration"] = regeneration(tmp / "regeneration", args.quick)
    result["regeneration"]["cpu"] = result["cpu"]
    result["total_wall_s"] = round(total.seconds, 1)
    summary(result["regeneration"])
    emit(result)


if __name__ == "__main__":
    main()
