"""The `deeplense` command line exposes every step the rules call."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert ok.returncode == 0 and "dataset demo: 64×64 px; no_sub=300, cdm=200, wdm=100, sidm=100, vortex=300, axion=300; 9 shards" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config.yaml").read_text().replace("scenario: vortex", "scenario: fuzzy"))
    out = run("check-config", str(bad))
    assert out.returncode == 1 and "unknown dark-matter scenario 'fuzzy'" in out.stderr


@pytest.mark.parametrize("numba_first", [True, False], ids=["numba loaded before", "numba loaded after"])
def test_threads_reach_blas_openmp_and_numba(numba_first):
    """`--threads N` limits every BLAS and OpenMP pool the process has loaded, and numba's
    parallel kernels, to N, whether numba was loaded before (a simulation job) or is loaded later
    (a job that may never load it); measured in a fresh process with no thread variables set."""
    limit = "from deeplense.cli import limit_threads; limit_threads(1); "
    code = (
        "import json; from threadpoolctl import threadpool_info; "
        + ("import numba; " + limit if numba_first else limit + "import numba; numba.njit(parallel=True)(lambda n: n)(1); ")
        + "print(json.dumps({'pools': threadpool_info(), 'numba': numba.get_num_threads()}))"
    )
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in names}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    apis = {pool["user_api"] for pool in report["pools"]}
    assert "blas" in apis, report["pools"]  # numpy's and scipy's BLAS were found, so the check below is not vacuous
    assert {(pool["filepath"], pool["num_threads"]) for pool in report["pools"]} == {(pool["filepath"], 1) for pool in report["pools"]}
    assert report["numba"] == 1


def test_every_rule_passes_its_threads_and_scaled_resources():
    """Each rule runs `deeplense --threads {threads} …` and scales memory and time with attempt."""
    import re

    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        for rule in re.split(r"\n(?=rule )", text):
            if not rule.startswith("rule ") or "shell:" not in rule:
                continue
            name = rule.split()[1].rstrip(":")
            # the PyAutoLens rule runs `${DEEPLENSE_AUTOLENS:-python -m deeplense} --threads {threads}`
            assert re.search(r"deeplense(\}\})? --threads \{threads\}", rule), name
            assert "threads:" in rule and "log:" in rule and "benchmark:" in rule and "conda:" in rule, name
            assert "mem_mb=scaled(" in rule and "runtime=scaled(" in rule, name


def test_train_and_evaluate_by_hand_with_a_config_and_a_model_name(small_cfg, small_store, tmp_path):
    """`deeplense train --model NAME` runs the rule's step on a model of a config, writing where
    the workflow would; a wrong name says which models there are."""
    import yaml

    raw = small_cfg.model_dump(mode="json")
    raw["models"] = {"r18": {"architecture": "resnet18", "dataset": "small", "epochs": 1, "batch_size": 8, "shuffle_buffer_mb": 1}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "results/datasets/small").mkdir(parents=True)
    (tmp_path / "results/datasets/small/dataset.zarr").symlink_to(small_store)
    deeplense = [sys.executable, "-m", "deeplense"]
    for step in ("train", "evaluate"):
        out = subprocess.run([*deeplense, step, "--model", "r18", "--config", "exp.yaml"], capture_output=True, text=True, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]
    model = tmp_path / "results/models/r18"
    for name in ("checkpoint.pt", "history.csv", "train_info.json", "training_curves.png", "metrics.json", "predictions.csv"):
        assert (model / name).is_file(), name
    wrong = subprocess.run([*deeplense, "train", "--model", "r81", "--config", "exp.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert wrong.returncode == 2 and "--model 'r81' is not a model of exp.yaml; allowed: r18" in wrong.stderr and "Traceback" not in wrong.stderr
