"""The real Snakefile, end to end, on a tiny config: lenstronomy → Zarr → timm → metrics → report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def snakemake(workdir: Path, *args: str, config: Path = TINY) -> subprocess.CompletedProcess:
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), *args]
    env = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_run")
    run = snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = snakemake(workdir, "--cores", "1", "--report", str(workdir / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    return workdir


@pytest.mark.e2e
def test_store_is_complete_and_sane(tiny_run):
    ds = xr.open_zarr(tiny_run / "results/datasets/tiny/dataset.zarr")
    assert ds["image"].shape == (72, 1, 32, 32)
    assert ds.attrs["classes"] == ["no_sub", "cdm", "vortex"]
    assert np.bincount(ds["label"].values).tolist() == [24, 24, 24]
    images = ds["image"].values
    assert np.isfinite(images).all() and images.std() > 0
    assert len(list((tiny_run / "results/datasets/tiny/shards").glob("*/*.zarr"))) == 6


@pytest.mark.e2e
def test_checkpoint_metrics_and_figures(tiny_run):
    model_dir = tiny_run / "results/models/resnet18"
    import torch

    state = torch.load(model_dir / "checkpoint.pt", weights_only=False)
    assert state["classes"] == ["no_sub", "cdm", "vortex"] and state["architecture"] == "resnet18"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics["auc_per_class"]) == {"no_sub", "cdm", "vortex"}
    for value in [metrics["auc_macro"], metrics["auc_micro"], *metrics["auc_per_class"].values()]:
        assert 0.0 <= value <= 1.0
    assert all(n > 0 for n in metrics["class_counts"].values())
    assert np.sum(metrics["confusion_matrix"]) == metrics["n_test"]
    for figure in ("roc.png", "confusion.png", "training_curves.png"):
        assert (model_dir / figure).stat().st_size > 10_000
    assert "resnet18" in (tiny_run / "results/leaderboard.csv").read_text()


@pytest.mark.e2e
def test_report_holds_every_category(tiny_run):
    html = (tiny_run / "report.html").read_text()
    for fragment in ("Datasets", "Training", "Evaluation", "Leaderboard", "gallery.png", "roc.png", "confusion.png", "training_curves.png", "leaderboard.html"):
        assert fragment in html, fragment


@pytest.mark.e2e
def test_nothing_reruns_on_a_complete_run(tiny_run):
    dry = snakemake(tiny_run, "--dry-run", "--cores", "1")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["datasets"]["tiny"]["classes"][1].update(scenario="wimp"), "datasets.tiny.classes[1].scenario = 'wimp': unknown dark-matter scenario"),
        (lambda c: c["datasets"]["tiny"]["classes"][0].update(n_images=-3), "datasets.tiny.classes[0].n_images = -3: Input should be greater than 0"),
        (lambda c: c["datasets"]["tiny"]["classes"][2].pop("n_images"), "datasets.tiny.classes[2].n_images: Field required"),
    ],
)
def test_broken_config_stops_before_any_job(tmp_path, edit, expected):
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    run = snakemake(tmp_path / "work", "--cores", "1", config=bad)
    assert run.returncode != 0
    assert expected in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "work" / "results").exists()
