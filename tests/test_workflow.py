"""The real Snakefile, end to end, on a tiny config: lenstronomy → Zarr → timm → metrics → report."""

import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from deeplense.pause_points import MARKER_VARIABLE, PAUSE_VARIABLE
from tests.figures import assert_drawn

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


ENV = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def snakemake_cmd(workdir: Path, *args: str, config: Path = TINY) -> list[str]:
    return [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), *args]


def snakemake(workdir: Path, *args: str, config: Path = TINY) -> subprocess.CompletedProcess:
    return subprocess.run(snakemake_cmd(workdir, *args, config=config), capture_output=True, text=True, env=ENV, timeout=1200)


def planned_jobs(workdir: Path, config: Path) -> dict[str, int]:
    """Jobs a dry run would execute, by rule."""
    out = snakemake(workdir, "--dry-run", "--cores", "1", config=config)
    assert out.returncode == 0, out.stderr[-2000:]
    jobs = {}
    lines = (out.stdout + out.stderr).splitlines()
    if "job" in "".join(lines) and "Job stats:" in lines:
        table = lines[lines.index("Job stats:") + 3 :]
        for line in table:
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                break
            if parts[0] != "total":
                jobs[parts[0]] = int(parts[1])
    return jobs


def dry_run_text(workdir: Path, config: Path) -> str:
    """What a dry run prints: every planned job with its inputs, outputs and reason."""
    out = snakemake(workdir, "--dry-run", "--cores", "1", config=config)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout + out.stderr


def edited_tiny(tmp_path: Path, edit) -> Path:
    cfg = yaml.safe_load(TINY.read_text())
    edit(cfg)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # as a person edits: the order kept
    return path


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
    # 3 classes × 2 shards, by recipe, and one shard of no_sub per population (source_center_x fixed)
    assert len(list((tiny_run / "results/shards").glob("*/*/*.zarr"))) == 6 + 2


@pytest.mark.e2e
def test_checkpoint_metrics_and_figures(tiny_run):
    model_dir = tiny_run / "results/models/resnet18"
    import torch

    state = torch.load(model_dir / "checkpoint.pt", weights_only=True)
    assert state["classes"] == ["no_sub", "cdm", "vortex"] and state["architecture"] == "resnet18"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics["auc_per_class"]) == {"no_sub", "cdm", "vortex"}
    for value in [metrics["auc_macro"], metrics["auc_micro"], *metrics["auc_per_class"].values()]:
        assert 0.0 <= value <= 1.0
    assert all(n > 0 for n in metrics["class_counts"].values())
    assert np.sum(metrics["confusion_matrix"]) == metrics["n_test"]
    for figure in ("figures/roc.png", "figures/confusion.png", "training_curves.png"):
        assert_drawn(model_dir / figure)
    for key in ("accuracy", "auc_macro", "auc_micro"):
        assert metrics["ci"][key]["low"] <= metrics[key] <= metrics["ci"][key]["high"], key
    prov = metrics["provenance"]
    assert prov["model"] == "resnet18" and prov["seed"] == 7 and prov["dataset_hash"] == metrics["dataset_hash"]
    assert prov["config_hash"].startswith("sha256:") and prov["git_commit"] and "torch" in prov["software"]
    assert "resnet18" in (tiny_run / "results/leaderboard.csv").read_text()
    markdown = (tiny_run / "results/leaderboard.md").read_text()
    assert {"resnet18", "vortex_length", "anomaly_ae"} <= set(re.findall(r"^\| (\S+) +\|", markdown, re.M))


@pytest.mark.e2e
def test_regression_and_anomaly_metrics_and_figures(tiny_run):
    models = tiny_run / "results/models"
    reg = json.loads((models / "vortex_length/metrics.json").read_text())
    target = reg["targets"]["vortex_length"]
    assert reg["task"] == "regression" and reg["n_test"] > 0 and target["mae"] >= 0 and target["baseline"]["mae"] >= 0
    assert 0 <= target["uncertainty"]["coverage_1sigma"] <= target["uncertainty"]["coverage_2sigma"] <= 1
    ano = json.loads((models / "anomaly_ae/metrics.json").read_text())
    assert ano["task"] == "anomaly" and set(ano["auc_per_class"]) == {"cdm", "vortex"} and 0 <= ano["auc"] <= 1
    for figure in ("vortex_length/figures/pred_vs_true.png", "vortex_length/figures/residuals.png", "vortex_length/figures/calibration.png",
                   "anomaly_ae/figures/scores.png", "anomaly_ae/figures/roc.png"):
        assert_drawn(models / figure)
    with open(tiny_run / "results/leaderboard.csv", newline="") as fh:
        tasks = {row["model"]: row["task"] for row in csv.DictReader(fh)}
    assert tasks == {"resnet18": "classification", "vortex_length": "regression", "anomaly_ae": "anomaly", "source_x": "posterior"}
    # the posterior task's calibration protocol, for a regressor with a predicted σ too
    assert set(target["calibration"]) >= {"levels", "coverage", "coverage_max_error", "sbc_ks_p"}
    assert reg["coverage_max_error"] == target["calibration"]["coverage_max_error"]


@pytest.mark.e2e
def test_posterior_model_its_draws_and_a_population(tiny_run):
    """A posterior model evaluated (coverage, SBC, TARP, figures), its draws written by a prediction
    set inside the prior, and a population's stacked posteriors evaluated against the truths the
    population stores record (the prior's quantiles)."""
    model = tiny_run / "results/models/source_x"
    metrics = json.loads((model / "metrics.json").read_text())
    target = metrics["targets"]["source_center_x"]
    assert metrics["task"] == "posterior" and metrics["n_draws"] == 100 and metrics["n_test"] > 0
    assert target["prior"] == {"dist": "uniform", "low": -0.35, "high": 0.35}
    assert 0 <= metrics["coverage_max_error"] <= 1 and 0 <= metrics["sbc_ks_p_min"] <= 1 and "atc" in metrics["tarp"]
    for figure in ("coverage", "sbc_ranks", "example_posteriors"):
        assert_drawn(model / "figures" / f"{figure}.png")
    predictions = xr.open_zarr(tiny_run / "results/predictions/source_x_draws/predictions.zarr")
    draws = predictions["draws"].values
    assert draws.shape == (72, 100, 1) and predictions["draws"].dims == ("sample", "draw", "target")
    assert (-0.35 <= draws).all() and (draws <= 0.35).all()
    assert np.allclose(predictions["mean"].values[:, 0], draws[:, :, 0].mean(axis=1), atol=1e-5)
    from deeplense.predict import load_model  # the same draws in Python, for the same batches

    images = xr.open_zarr(tiny_run / "results/datasets/tiny/dataset.zarr")["image"].values
    python_draws = load_model(model).posterior(images, 100, batch_size=16)
    assert python_draws.shape == (72, 100, 1) and np.array_equal(python_draws.astype(np.float32), draws)
    header = (tiny_run / "results/predictions/source_x_draws/predictions.csv").read_text().splitlines()[0]
    assert header == "id,mean_source_center_x,std_source_center_x,q16_source_center_x,q50_source_center_x,q84_source_center_x,label,label_name"
    population = json.loads((tiny_run / "results/populations/source_x_pop/metrics.json").read_text())
    assert population["truths"] == pytest.approx([-0.175, 0.175])
    for k, truth in enumerate(population["truths"]):
        store = xr.open_zarr(tiny_run / f"results/datasets/tiny__source_x_pop_{k}/dataset.zarr")
        assert store.attrs["classes"] == ["no_sub"] and (store["source_center_x"].values == truth).all()
    assert set(population["by_lenses"]) == {"1", "3"}
    for row in population["by_lenses"].values():
        assert 0 <= row["coverage_68"] <= row["coverage_95"] <= 1 and row["mean_std"] > 0
    for figure in ("stacked_posteriors", "population_coverage"):
        assert_drawn(tiny_run / f"results/populations/source_x_pop/figures/{figure}.png")


@pytest.mark.e2e
def test_a_finished_run_is_recorded_and_quoted(tiny_run, tmp_path):
    """`deeplense record` copies every evaluation the config asks for (its own test split, the
    evaluate_on datasets, the populations) with the run's commit and time; `deeplense quote`
    regenerates a Markdown table from it and then finds it agrees; the record refuses a run
    with an output missing."""
    record_dir = tmp_path / "reproductions" / "tiny"
    deeplense = str(SNAKEMAKE.with_name("deeplense"))
    out = subprocess.run([deeplense, "record", "--config", str(TINY), "--results", str(tiny_run / "results"), "--output", str(record_dir)],
                         capture_output=True, text=True, env=ENV)
    assert out.returncode == 0, out.stderr
    record = json.loads((record_dir / "record.json").read_text())
    models = yaml.safe_load(TINY.read_text())["models"]
    assert {f"models/{m}/metrics.json" for m in models} <= set(record["files"])
    assert "populations/source_x_pop/metrics.json" in record["files"]
    assert all((record_dir / f).is_file() for f in record["files"])
    assert record["config_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert record["time"]["jobs"] > 0 and 0 < record["time"]["wall_s"] and record["git_commits"]
    assert "models/vortex_length/seeds/1/metrics.json" in record["files"]  # its training repeat (seeds: 2)
    rows = list(csv.DictReader((record_dir / "leaderboard.csv").open()))
    assert len(rows) == sum(1 for f in record["files"] if f.startswith("models/") and "/seeds/" not in f)
    page = tmp_path / "results.md"
    page.write_text("<!-- quote: reproductions/tiny leaderboard -->\n<!-- /quote -->\n<!-- quote: reproductions/tiny populations -->\n<!-- /quote -->\n")
    quote = [deeplense, "quote", str(page), "--root", str(tmp_path)]
    assert subprocess.run(quote, capture_output=True, text=True, env=ENV).returncode == 1  # empty blocks disagree
    assert subprocess.run([*quote, "--update"], capture_output=True, text=True, env=ENV).returncode == 0
    assert "| `source_x` | posterior |" in page.read_text() and "| `source_x_pop` | 3 | 2 |" in page.read_text()
    assert re.search(r"^\| `vortex_length` \| regression \|.* ± .* \(2 seeds\) \|", page.read_text(), re.M)
    assert subprocess.run(quote, capture_output=True, text=True, env=ENV).returncode == 0
    unfinished = tmp_path / "unfinished"
    (unfinished / "results").mkdir(parents=True)
    out = subprocess.run([deeplense, "record", "--config", str(TINY), "--results", str(unfinished / "results"), "--output", str(tmp_path / "x")],
                         capture_output=True, text=True, env=ENV)
    assert out.returncode != 0 and "cannot record an unfinished run" in out.stderr and not (tmp_path / "x").exists()


@pytest.mark.e2e
def test_a_model_with_two_seeds_trains_a_repeat_and_the_leaderboard_gives_the_spread(tiny_run):
    """vortex_length has `seeds: 2`: a second training on the same split with its own seed,
    evaluated on the same test images; the leaderboard gives mean ± std (ddof=1) of the two MAEs."""
    import torch

    from deeplense.seeds import training_seed

    model = tiny_run / "results/models/vortex_length"
    repeat = model / "seeds/1"
    infos = [json.loads((d / "train_info.json").read_text()) for d in (model, repeat)]
    assert infos[0]["seed"] == 7 and infos[1]["seed"] == training_seed(7, 1)
    assert infos[0]["split_sizes"] == infos[1]["split_sizes"] and infos[0]["config_hash"] != infos[1]["config_hash"]
    weights = [torch.load(d / "checkpoint.pt", weights_only=True)["model_state"] for d in (model, repeat)]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # another initialisation and shuffling
    maes = [json.loads((d / "metrics.json").read_text())["mae"] for d in (model, repeat)]
    predictions = [(d / "predictions.csv").read_text().splitlines() for d in (model, repeat)]
    assert [line.split(",")[0] for line in predictions[0]] == [line.split(",")[0] for line in predictions[1]]  # the same test images
    with open(tiny_run / "results/leaderboard.csv", newline="") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    row = rows["vortex_length"]
    assert int(row["seeds"]) == 2 and float(row["main_value"]) == pytest.approx(maes[0], abs=1e-4)
    assert float(row["seed_mean"]) == pytest.approx(np.mean(maes), abs=1e-4)
    assert float(row["seed_std"]) == pytest.approx(np.std(maes, ddof=1), abs=1e-4)
    assert rows["resnet18"]["seeds"] == ""  # run once
    assert "(2 seeds)" in (tiny_run / "results/leaderboard.html").read_text()
    assert "(2 seeds)" in (tiny_run / "results/leaderboard_summary.html").read_text()


@pytest.mark.e2e
def test_report_holds_every_category(tiny_run):
    html = (tiny_run / "report.html").read_text()
    for fragment in ("Datasets", "Training", "Evaluation", "Inference", "Leaderboard", "stacked_posteriors.png", "gallery.png", "parameters.png", "roc.png", "confusion.png", "training_curves.png", "leaderboard.html",
                     "leaderboard_summary.html", "summary-leaderboard"):  # the landing page's summary, embedded
        assert fragment in html, fragment


@pytest.mark.e2e
def test_report_renders_in_chromium(tiny_run, tmp_path):
    """The report opened in headless Chromium: every category, one entry per trained model, the
    leaderboard's row, the figures decoded and drawn (screenshots are not blank)."""
    from tests.test_report_browser import assert_not_blank, probe_report, screenshot

    probe, _ = probe_report(tiny_run / "report.html", tmp_path)
    prov_hash = json.loads((tiny_run / "results/models/resnet18/metrics.json").read_text())["provenance"]["config_hash"]
    for category in ("Datasets", "Training", "Evaluation", "Inference", "Leaderboard"):
        assert category in probe["categories"] and category in probe["menu"], category
    assert probe["categories"]["Datasets"] == ["tiny", "tiny__source_x_pop_0", "tiny__source_x_pop_1"]
    models = sorted(yaml.safe_load(TINY.read_text())["models"])  # one entry per trained model
    assert sorted(probe["categories"]["Training"]) == models
    assert sorted(probe["categories"]["Evaluation"]) == [m for m in models if m != "source_x"]  # point estimates
    assert sorted(probe["categories"]["Inference"]) == ["population source_x_pop", "source_x"]
    figures = {path.rsplit("/", 1)[-1] for path in probe["images"]}
    assert figures >= {"gallery.png", "parameters.png", "training_curves.png", "roc.png", "confusion.png", "pred_vs_true.png", "scores.png"}
    assert all(w > 300 and h > 300 for w, h in probe["images"].values()), probe["images"]
    rows = {row[0]: row for row in probe["leaderboard"]}
    assert sorted(rows) == models
    assert rows["resnet18"][:3] == ["resnet18", "classification", "macro AUC"] and rows["resnet18"][4:7] == ["–", "tiny", "tiny"]
    assert re.fullmatch(r"\d\.\d{3} ± \d\.\d{3}( \S+)? \(2 seeds\)", rows["vortex_length"][4])  # beside the headline: the spread over seeds
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]", rows["resnet18"][3])  # [95% CI]
    # the landing page: one summary row per evaluation, the same headline value, a link to each model's figures
    summary = {row[0]: row for row in probe["summary"]}
    assert sorted(summary) == models and summary["resnet18"][3:5] == ["macro AUC", rows["resnet18"][3]]
    assert set(models) <= set(probe["figure_links"])
    roc = probe["results"]["results/models/resnet18/figures/roc.png"]
    assert "architecture resnet18" in roc["caption"] and "seed 7" in roc["caption"] and prov_hash[:19] in roc["caption"]
    page = tmp_path / "report_probed.html"
    for fragment in ("", "#figure"):  # the leaderboard, then a ROC figure, in the content pane
        pixels = screenshot(page, tmp_path / f"shot{fragment[1:]}.png", fragment)
        assert_not_blank(pixels[:, pixels.shape[1] // 3 :])


@pytest.mark.e2e
def test_nothing_reruns_on_a_complete_run(tiny_run):
    dry = snakemake(tiny_run, "--dry-run", "--cores", "1")
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.e2e
def test_physics_change_reruns_that_class_and_downstream_only(tiny_run, tmp_path):
    config = edited_tiny(tmp_path, lambda c: c["datasets"]["tiny"]["classes"][1]["params"].update(n_subhalos=12))
    assert planned_jobs(tiny_run, config) == {
        "simulate_shard": 2,  # the two cdm shards; no_sub and vortex shards are kept
        "store_dataset": 1,
        "gallery": 1,
        "dataset_parameters": 1,
        "train_model": 2,  # the models that read cdm images; vortex_length (vortex only) and source_x (no_sub) are kept
        "evaluate_model": 2,
        "leaderboard": 1,
        "predict": 2,  # the prediction sets over the whole dataset (autoencoder scores, posterior draws), and their figures
        "prediction_figures": 2,
        "all": 1,
    }
    planned = dry_run_text(tiny_run, config)
    assert "model=vortex_length" not in planned and "classes/vortex.zarr" not in planned


@pytest.mark.e2e
def test_a_class_a_model_reads_reruns_its_store_and_that_model(tiny_run, tmp_path):
    config = edited_tiny(tmp_path, lambda c: c["datasets"]["tiny"]["classes"][2]["params"].update(n_points=25))
    assert planned_jobs(tiny_run, config) == {
        "simulate_shard": 2, "store_dataset": 1, "store_subset": 1, "gallery": 1, "dataset_parameters": 1,
        "train_model": 3, "evaluate_model": 3, "train_repeat": 1, "evaluate_repeat": 1,  # vortex_length's second seed
        "leaderboard": 1, "predict": 2, "prediction_figures": 2, "all": 1,
    }


@pytest.mark.e2e
def test_adding_or_removing_a_class_reruns_only_the_models_that_read_it(tiny_run, tmp_path):
    """vortex_length selects [vortex]: a class added to or removed from the dataset is none of its
    business; resnet18 and anomaly_ae read every class, so they retrain."""
    whole = {"store_dataset": 1, "gallery": 1, "dataset_parameters": 1, "train_model": 2, "evaluate_model": 2, "leaderboard": 1,
             "predict": 2, "prediction_figures": 2, "all": 1}
    added = edited_tiny(tmp_path, lambda c: c["datasets"]["tiny"]["classes"].append({"name": "smooth", "scenario": "no_sub", "n_images": 24}))
    assert planned_jobs(tiny_run, added) == {"simulate_shard": 2, **whole}  # the new class's two shards only
    assert "model=vortex_length" not in dry_run_text(tiny_run, added)
    removed = edited_tiny(tmp_path, lambda c: c["datasets"]["tiny"]["classes"].pop(1))  # cdm
    assert planned_jobs(tiny_run, removed) == whole
    assert "model=vortex_length" not in dry_run_text(tiny_run, removed)


@pytest.mark.e2e
def test_what_job_and_storage_settings_rebuild(tiny_run, tmp_path):
    """As the README says: new shards rebuild the store (same bytes) and, Snakemake rerunning
    everything downstream of a rerun job, the models; a new chunk layout rebuilds the store and the
    models (their batches follow the chunks); the gallery size only the gallery. Every dataset
    holds these settings: the tiny one and the two populations'."""
    downstream = {"store_dataset": 3, "store_subset": 2, "gallery": 3, "dataset_parameters": 3, "train_model": 4, "evaluate_model": 3,
                  "evaluate_posterior": 1, "train_repeat": 1, "evaluate_repeat": 1, "population": 1, "leaderboard": 1, "predict": 2,
                  "prediction_figures": 2, "all": 1}
    shards = edited_tiny(tmp_path, lambda c: c["simulation"].update(shard_size=8))
    assert planned_jobs(tiny_run, shards) == {"simulate_shard": 9 + 2, **downstream}
    chunks = edited_tiny(tmp_path, lambda c: c["storage"].update(chunk_images=8))
    assert planned_jobs(tiny_run, chunks) == downstream
    gallery = edited_tiny(tmp_path, lambda c: c["report"].update(gallery_per_class=2))
    assert planned_jobs(tiny_run, gallery) == {"gallery": 3, "all": 1}


@pytest.mark.e2e
def test_predictions_are_written_shown_and_rerun_as_little_as_needed(tiny_run, tmp_path):
    """The config's prediction set: every image of the store scored, with provenance; its figures in
    the report; a figure-only setting redraws the figures, a new batch size reruns the prediction."""
    store = tiny_run / "results/predictions/anomaly_scores/predictions.zarr"
    ds = xr.open_zarr(store)
    assert ds.attrs["complete"] and list(ds["id"].values) == list(range(72)) and np.isfinite(ds["score"].values).all()
    ckpt = tiny_run / "results/models/anomaly_ae/checkpoint.pt"
    assert ds.attrs["provenance"]["model"]["checkpoint_sha256"] == "sha256:" + hashlib.sha256(ckpt.read_bytes()).hexdigest()
    figures = tiny_run / "results/predictions/anomaly_scores/figures"
    assert sorted(p.name for p in figures.glob("*.png")) == ["score_distribution.png", "top_ranked.png"]
    html = (tiny_run / "report.html").read_text()
    assert "Predictions" in html and "top_ranked.png" in html and "score_distribution.png" in html
    top = edited_tiny(tmp_path, lambda c: c["predictions"]["anomaly_scores"].update(top=4))
    assert planned_jobs(tiny_run, top) == {"prediction_figures": 1, "all": 1}
    batch = edited_tiny(tmp_path, lambda c: c["predictions"]["anomaly_scores"].update(batch_size=8))
    assert planned_jobs(tiny_run, batch) == {"predict": 1, "prediction_figures": 1, "all": 1}


@pytest.mark.e2e
def test_adding_a_model_reruns_only_its_training(tiny_run, tmp_path):
    def add(c):
        c["models"]["resnet18_slow"] = {**c["models"]["resnet18"], "lr": 1e-4}

    assert planned_jobs(tiny_run, edited_tiny(tmp_path, add)) == {"train_model": 1, "evaluate_model": 1, "leaderboard": 1, "all": 1}


def _start(workdir: Path, pause_at: str | None = None, *targets: str, config: Path = TINY) -> subprocess.Popen:
    """The restart command of `make run`: clear a stale lock, then the local profile. With
    ``pause_at``, the first job to reach that pause point (deeplense.pause_points) waits there."""
    subprocess.run([str(SNAKEMAKE.with_name("deeplense")), "unlock-stale", "--directory", str(workdir)], check=True, env=ENV)
    env = {**ENV, PAUSE_VARIABLE: pause_at, MARKER_VARIABLE: str(workdir / "paused")} if pause_at else ENV
    (workdir / "paused").unlink(missing_ok=True)
    cmd = snakemake_cmd(workdir, "--profile", str(ROOT / "profiles" / "local"), "--cores", "1", *targets, config=config)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)


def _kill_when_paused(proc: subprocess.Popen, workdir: Path) -> None:
    """SIGKILL the whole run (Snakemake and its jobs) once a job waits at the pause point: the
    kill lands at that exact place, however busy the machine is."""
    while not (workdir / "paused").exists():
        assert proc.poll() is None, "the run ended before reaching its pause point"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _leftovers(workdir: Path) -> list[Path]:
    """Temporaries of killed writers still lying in results/."""
    return [p for p in (workdir / "results").rglob(".*.tmp-*")]


@pytest.mark.e2e
def test_hard_killed_run_restarts_to_identical_outputs(tiny_run, tmp_path):
    """Killed (SIGKILL, no clean-up) after the first simulation shard, again with the store
    written but not yet renamed into place, and again mid-training; restarted with the same
    command on 1 core: the store, the trained weights and the predictions are bit-identical to
    those of the uninterrupted 2-core run."""
    work = tmp_path / "killed"
    shards = work / "results/shards"
    store = work / "results/datasets/tiny/dataset.zarr"
    proc = _start(work, "simulate.shard_written")
    _kill_when_paused(proc, work)
    assert len(list(shards.glob("*/*/*.zarr"))) == 1  # cut after exactly one shard
    for part in shards.glob("*/*/*.zarr"):  # a shard appears only complete
        assert (part / "zarr.json").is_file()

    proc = _start(work, "store.before_rename")
    _kill_when_paused(proc, work)
    assert len(list(shards.glob("*/*/*.zarr"))) == 6 + 2  # the tiny dataset's and the two populations'
    (leftover,) = _leftovers(work)  # written, never renamed
    left = leftover.name.split(".tmp-")[0]
    assert left in (".dataset.zarr", ".vortex.zarr", ".no_sub.zarr")  # a whole store or a model's classes, whichever ran first
    assert not (leftover.parent / left[1:]).exists()

    proc = _start(work, "train.step_done")
    _kill_when_paused(proc, work)
    assert not _leftovers(work)
    assert not list((work / "results/models").glob("*/metrics.json"))

    proc = _start(work)
    assert proc.wait(timeout=1200) == 0
    assert not _leftovers(work)
    a, b = tiny_run / "results/datasets/tiny/dataset.zarr", store
    assert xr.open_zarr(a).attrs["content_hash"] == xr.open_zarr(b).attrs["content_hash"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in files:  # every chunk and every metadata file, provenance included
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    import torch

    for model in yaml.safe_load(TINY.read_text())["models"]:
        wa = torch.load(tiny_run / f"results/models/{model}/checkpoint.pt", weights_only=True)
        wb = torch.load(work / f"results/models/{model}/checkpoint.pt", weights_only=True)
        assert wa["epoch"] == wb["epoch"] and all(torch.equal(wa["model_state"][k], wb["model_state"][k]) for k in wa["model_state"]), model
        pa = (tiny_run / f"results/models/{model}/predictions.csv").read_bytes()
        assert pa == (work / f"results/models/{model}/predictions.csv").read_bytes(), model
    population = "results/populations/source_x_pop/metrics.json"  # the stacked posteriors too
    assert (tiny_run / population).read_bytes() == (work / population).read_bytes()
    m1 = json.loads((tiny_run / "results/models/resnet18/metrics.json").read_text())
    m2 = json.loads((work / "results/models/resnet18/metrics.json").read_text())
    for key in ("accuracy", "auc_macro", "auc_micro", "auc_per_class", "confusion_matrix", "checkpoint_epoch", "dataset_hash", "ci"):
        assert m1[key] == m2[key], key


@pytest.mark.e2e
def test_sweep_points_reuse_the_unchanged_classes_and_resume_after_kills(tiny_run, tmp_path):
    """A sweep over the vortex mass, run in a copy of the finished tiny run: only the vortex shards
    of each point are simulated (no_sub and cdm are the tiny run's shards, reused); killed after its
    first new shard and again before a store is renamed into place, it restarts cleanly; each
    point's store equals one simulated from scratch, and holds the tiny run's no_sub and cdm images,
    byte for byte."""
    import shutil

    from deeplense.experiment import load_config
    from tests.conftest import build_store

    work = tmp_path / "sweep"
    shutil.copytree(tiny_run / "results", work / "results", symlinks=True)
    shutil.copytree(tiny_run / ".snakemake" / "metadata", work / ".snakemake" / "metadata")  # what made them
    config = edited_tiny(tmp_path, lambda c: c.update(sweeps={"vm": {
        "dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 1e11], "models": ["resnet18"],
        "metric": "auc_per_class.vortex"}}))
    stores = [f"results/datasets/tiny__vm_{i}/dataset.zarr" for i in range(2)]
    dry = snakemake(work, "--dry-run", "--cores", "1", *stores, config=config)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert set(re.findall(r"^simulate_shard\s+(\d+)$", dry.stdout + dry.stderr, re.M)) == {"4"}  # 2 points × 2 vortex shards
    before = {p for p in (work / "results/shards").glob("*/*/*.zarr")}

    _kill_when_paused(_start(work, "simulate.shard_written", *stores, config=config), work)
    _kill_when_paused(_start(work, "store.before_rename", *stores, config=config), work)
    assert not any((work / s).exists() for s in stores) and len(_leftovers(work)) == 1
    assert _start(work, None, *stores, config=config).wait(timeout=1200) == 0
    assert not _leftovers(work)
    made = {p for p in (work / "results/shards").glob("*/*/*.zarr")} - before
    assert sorted(p.parts[-3] for p in made) == ["vortex"] * 4

    tiny = xr.open_zarr(tiny_run / "results/datasets/tiny/dataset.zarr")
    cfg = load_config(config)
    for i, store in enumerate(stores):
        ds = xr.open_zarr(work / store)
        scratch, _ = build_store(cfg, tmp_path / f"scratch{i}", f"tiny__vm_{i}")
        fresh = xr.open_zarr(scratch)
        assert ds.attrs["content_hash"] == fresh.attrs["content_hash"]
        for name in ("image", "seed", "label", "index_in_class", "vortex_mass", "vortex_length"):
            np.testing.assert_array_equal(ds[name].values, fresh[name].values, err_msg=f"{store}: {name}")
        for label, cls in enumerate(ds.attrs["classes"]):
            same = ds["label"].values == label
            if cls == "vortex":
                assert not np.array_equal(ds["image"].values[same], tiny["image"].values[same]), store
            else:  # the tiny run's own bytes
                assert ds["image"].values[same].tobytes() == tiny["image"].values[same].tobytes(), (store, cls)


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


def test_sweep_plans_every_point_and_the_sensitivity_plot(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["sweeps"] = {"vmass": {"dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 1e11], "models": ["resnet18"], "metric": "auc_per_class.vortex"}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(tmp_path / "work", path)
    assert jobs["sensitivity"] == 1 and jobs["store_dataset"] == 3 + 2  # the base, 2 points, 2 populations
    assert jobs["train_model"] == len(cfg["models"]) + 2  # the tiny models, and resnet18 at each of the 2 points
    # no_sub and cdm: the same shards in the 3 datasets; vortex: 3 recipes (the base and 2 masses);
    # one shard per population
    assert jobs["simulate_shard"] == 2 + 2 + 3 * 2 + 2


def test_seeds_plan_a_training_and_an_evaluation_per_repeat(tmp_path):
    """`seeds: 3` adds two trainings and evaluations, under the model's seeds/ folder; `seeds: 1` none."""
    three = edited_tiny(tmp_path, lambda c: c["models"]["vortex_length"].update(seeds=3))
    jobs = planned_jobs(tmp_path / "work", three)
    assert jobs["train_repeat"] == 2 and jobs["evaluate_repeat"] == 2 and jobs["train_model"] == 4
    text = dry_run_text(tmp_path / "work", three)
    for k in (1, 2):
        assert f"results/models/vortex_length/seeds/{k}/checkpoint.pt" in text and f"results/models/vortex_length/seeds/{k}/metrics.json" in text
    assert "seeds/3/" not in text
    one = edited_tiny(tmp_path, lambda c: c["models"]["vortex_length"].update(seeds=1))
    assert not {"train_repeat", "evaluate_repeat"} & set(planned_jobs(tmp_path / "work", one))


def test_named_targets(tmp_path):
    for target, rules in {"datasets": {"simulate_shard", "store_dataset", "gallery"}, "train": {"simulate_shard", "store_dataset", "train_model"}, "model_resnet18": {"evaluate_model"}, "dataset_tiny": {"gallery"}}.items():
        out = snakemake(tmp_path / "work", "--dry-run", "--cores", "1", target)
        assert out.returncode == 0, out.stderr[-1500:]
        text = out.stdout + out.stderr
        for rule in rules:
            assert rule in text, (target, rule)
        if target in ("datasets", "dataset_tiny"):
            assert "train_model" not in text
