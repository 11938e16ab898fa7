"""Searches (Optuna): the config is checked before any job, trials sample conditional spaces,
workers share a study, pruning stops a trial, a killed worker's trial fails on resume and the
study completes, one worker repeats its trials, and the real Snakefile runs a search end to end."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from deeplense.config import ConfigError, ModelConfig
from deeplense.errors import DeeplenseError
from deeplense.experiment import load_config
from deeplense.models import create_model
from deeplense.pause_points import MARKER_VARIABLE, PAUSE_VARIABLE
from deeplense.search.config import SearchConfig, apply
from deeplense.search.export import best_model_config, plot_search, trials_table
from deeplense.search.space import sample_settings
from deeplense.search.study import WORKER_ATTR, Search, best_trial, fail_stale_trials
from deeplense.search.trial import second_objective
from deeplense.search.worker import run_worker
from deeplense.training.trainer import TrainOutputs, train_model
from deeplense.workflow.plan import search_spec
from deeplense.workflow.specs import SearchSpec
from tests.conftest import TINY_CONFIG
from tests.figures import assert_drawn, axis_labels, saved_figures  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
LR = {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True}


def tiny_with_search(**search):
    raw = yaml.safe_load(TINY_CONFIG.read_text())
    raw["searches"] = {"hp": {"model": "resnet18", "space": {"lr": LR}, **search}}
    return raw


@pytest.mark.parametrize(
    "search, expected",
    [
        ({"space": {"lr": {**LR, "low": 0.1}}}, "searches.hp.space.lr.low = 0.1: empty range: low must be below high (0.01)"),
        ({"space": {"optimizer": {"type": "categorical", "choices": ["adamw", "sam"]}}, "sampler": "cmaes"},
         "searches.hp.sampler = 'cmaes': CMA-ES samples numbers only, and the space has categorical optimizer"),
        ({"second_objective": "params"}, "searches.hp.pruner = 'median': Optuna cannot prune a study with two objectives"),
        ({"model": "resnet19"}, "searches.hp.model = 'resnet19': not a model; did you mean 'resnet18'? allowed: resnet18, vortex_length, anomaly_ae"),
        ({"n_trails": 3}, "searches.hp.n_trails = 3: unknown field; did you mean 'n_trials'?"),
        ({"sampler": "grid"}, "searches.hp.sampler = 'grid': a grid needs a fixed, finite space, and lr has no step"),
        ({"objective": "val_mae"}, "searches.hp.objective = 'val_mae': not a validation metric of task classification; did you mean 'val_auc'? allowed: val_loss"),
        ({"space": {"lr": {**LR, "log": False, "low": -1.0}}}, "searches.hp.space.lr.low = -1.0: gives models.resnet18.lr: Input should be greater than 0"),
        ({"space": {"dataset": {"type": "categorical", "choices": ["tiny"]}}}, "searches.hp.space.dataset = "),
        ({"space": {"train_images_per_class": {"type": "int", "low": 4, "high": 100}}},
         "searches.hp.space.train_images_per_class = {type: int, low: 4, high: 100}: a search keeps what a model learns from"),
        ({"space": {"batch_size": {"type": "int", "low": 1, "high": 8}}},
         "searches.hp.space.batch_size.low = 1: gives models.resnet18.batch_size: Input should be greater than or equal to 2"),
        ({"space": {"architecture": {"type": "categorical", "choices": {"resnet18": {}, "resnet99x": {}}}}},
         "searches.hp.space.architecture.choices[1] = 'resnet99x': gives models.resnet18.architecture: unknown architecture"),
        ({"space": {"architecture": {"type": "categorical", "choices": {"test_vit": {"architecture_args.depth": {"type": "int", "low": 3, "high": 2}}}}}},
         "searches.hp.space.architecture.choices.test_vit.architecture_args.depth.low = 3: empty range"),
        ({"space": {"architecture": {"type": "categorical", "choices": {"test_vit": {"architecture_args.patch_size": {"type": "categorical", "choices": [5, 8]}}}}}},
         "searches.hp.space.architecture.choices.test_vit = 'test_vit': cannot build test_vit for 1×32×32 images"),
        ({"space": {"architecture_args.patch_size": {"type": "int", "low": 4, "high": 8}}},
         "searches.hp.space.architecture_args.patch_size = 4: cannot build resnet18 for 1×32×32 images"),
    ],
)
def test_config_mistakes_are_named_before_any_job(search, expected):
    with pytest.raises(ConfigError) as err:
        load_config(tiny_with_search(**search), "bad.yaml")
    assert expected in str(err.value), str(err.value)


def test_best_model_name_must_be_free():
    raw = tiny_with_search()
    raw["models"]["hp_best"] = raw["models"]["resnet18"]
    with pytest.raises(ConfigError, match=r"models.hp_best = 'hp_best': search hp trains its best config as model hp_best"):
        load_config(raw)


def test_check_config_and_dry_run_refuse_a_bad_search(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(tiny_with_search(pruner="hyperband", second_objective="inference_time")))
    for cmd in ([str(BIN / "deeplense"), "check-config", str(path)],
                [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--configfile", str(path), "--dry-run", "--cores", "1"]):
        out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=ENV)
        assert out.returncode != 0
        assert "searches.hp.pruner = 'hyperband': Optuna cannot prune a study with two objectives" in out.stdout + out.stderr


def test_conditional_subspace_is_sampled_only_with_its_choice():
    space = SearchConfig.model_validate({
        "model": "m",
        "space": {"lr": LR, "architecture": {"type": "categorical", "choices": {
            "test_resnet": {}, "test_vit": {"architecture_args.depth": {"type": "int", "low": 1, "high": 3}}}}},
    }).space
    vit = sample_settings(optuna.trial.FixedTrial({"lr": 1e-3, "architecture": "test_vit", "architecture=test_vit/architecture_args.depth": 2}), space)
    assert vit == {"lr": 1e-3, "architecture": "test_vit", "architecture_args.depth": 2}
    resnet = sample_settings(optuna.trial.FixedTrial({"lr": 1e-3, "architecture": "test_resnet"}), space)
    assert resnet == {"lr": 1e-3, "architecture": "test_resnet"}
    base = {"architecture": "test_resnet", "architecture_args": {"drop_rate": 0.1}, "lr": 1.0}
    assert apply(base, vit) == {"architecture": "test_vit", "architecture_args": {"depth": 2}, "lr": 1e-3}  # another network: its own args
    assert apply(base, resnet)["architecture_args"] == {"drop_rate": 0.1}


def _search_spec(small_cfg, n_trials=2, architecture="test_resnet", **config) -> str:
    """The workflow's spec of search ``s`` over a tiny network on the small store."""
    cfg = load_config({
        **small_cfg.model_dump(mode="json"),
        "models": {"net": {"architecture": architecture, "architecture_args": {"patch_size": 4} if architecture == "test_vit" else {}, "dataset": "small", "epochs": 3, "batch_size": 8, "threads": 1}},
        "searches": {"s": {"model": "net", "space": {"lr": LR}, "n_trials": n_trials, "trial_epochs": 1, "seed": 3, **config}},
    })
    return search_spec(cfg, "s")


def _search(spec_text: str) -> Search:
    """The search as the worker command reads it from its spec."""
    spec = SearchSpec.parse(spec_text)
    return Search(spec.search_name, SearchConfig.model_validate(spec.search), spec.model, spec.seed, spec.split, spec.study_name)


def _trials(search: Search, journal: Path) -> list[optuna.trial.FrozenTrial]:
    return search.open(journal).get_trials(deepcopy=False)


@pytest.mark.determinism
def test_one_worker_repeats_its_trials(small_cfg, small_store, tmp_path):
    """Seeded sampler, deterministic training: the same trials, values and best config."""
    search = _search(_search_spec(small_cfg, n_trials=2))
    runs = []
    for attempt in ("a", "b"):
        summary = run_worker(search, 0, small_store, tmp_path / attempt / "journal.log", tmp_path / attempt / "scratch")
        assert (summary.complete, summary.pruned, summary.failed) == (2, 0, 0)
        runs.append([(t.params, t.values, t.state) for t in _trials(search, tmp_path / attempt / "journal.log")])
    assert runs[0] == runs[1] and len(runs[0]) == 2
    assert runs[0][0][0] != runs[0][1][0]  # two different settings
    again = run_worker(search, 0, small_store, tmp_path / "a" / "journal.log", tmp_path / "a" / "scratch")
    assert (again.complete, again.pruned, again.failed) == (0, 0, 0)  # a finished search runs nothing
    more = _search(_search_spec(small_cfg, n_trials=3, workers=2))  # a larger budget continues the same study
    assert more.study_name == search.study_name != _search(_search_spec(small_cfg, seed=4)).study_name
    third = run_worker(more, 1, small_store, tmp_path / "a" / "journal.log", tmp_path / "a" / "scratch")
    assert third.complete + third.pruned == 1
    assert [t.params for t in _trials(more, tmp_path / "a" / "journal.log")][:2] == [r[0] for r in runs[0]]


def test_pruned_trial_stops_training(small_cfg, small_store, tmp_path):
    """Two finished trials that no trial can beat (val_loss 0 at every epoch): the median pruner
    stops the next trial after its first epoch of two."""
    search = _search(_search_spec(small_cfg, n_trials=3, trial_epochs=2))
    journal = tmp_path / "journal.log"
    study = search.open(journal)
    for lr in (1e-3, 2e-3):
        study.add_trial(optuna.trial.create_trial(
            params={"lr": lr}, distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)},
            values=[0.0], intermediate_values={0: 0.0, 1: 0.0},
        ))
    summary = run_worker(search, 0, small_store, journal, tmp_path / "scratch")
    assert (summary.complete, summary.pruned) == (0, 1)
    pruned = _trials(search, journal)[2]
    assert pruned.state == optuna.trial.TrialState.PRUNED and list(pruned.intermediate_values) == [0]


def test_two_objectives_give_a_pareto_front(small_cfg, small_store, tmp_path, saved_figures):
    """Validation loss and parameter count: both exported, the Pareto front drawn, the best
    configuration the Pareto-optimal trial best on the metric."""
    space = {"lr": LR, "architecture_args.drop_rate": {"type": "float", "low": 0.0, "high": 0.5}}
    search = _search(_search_spec(small_cfg, n_trials=2, space=space, sampler="nsga2", pruner="none", second_objective="params"))
    journal = tmp_path / "journal.log"
    assert run_worker(search, 0, small_store, journal, tmp_path / "scratch").complete == 2
    study = search.open(journal)
    table = trials_table(study, search)
    assert list(table.columns[:4]) == ["number", "state", "val_loss", "params"] and (table["params"] > 1000).all()
    plot_search(study, search, tmp_path / "figures")
    assert set(saved_figures) == {"history.png", "importances.png", "parallel_coordinates.png", "pareto_front.png"}
    assert ("val_loss", "params") in axis_labels(saved_figures["pareto_front.png"])
    assert ("Trial", "val_loss") in axis_labels(saved_figures["history.png"])
    front = study.best_trials
    best = best_model_config(study, search)
    assert best["lr"] == min(front, key=lambda t: (t.values[0], t.number)).params["lr"] and best["epochs"] == 3


def test_rdb_storage_from_its_url(small_cfg, small_store, tmp_path):
    """An RDB named by URL (SQLite here; PostgreSQL or MySQL on a cluster) instead of the journal."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    search = _search(_search_spec(small_cfg, n_trials=1, storage=url))
    assert run_worker(search, 0, small_store, tmp_path / "unused.log", tmp_path / "scratch").complete == 1
    assert not (tmp_path / "unused.log").exists()
    (trial,) = optuna.load_study(study_name=search.study_name, storage=url).trials
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs[WORKER_ATTR] == 0


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "nsga2", "random", "grid"])
def test_every_sampler_repeats_its_suggestions(sampler, tmp_path):
    """Each sampler, seeded, suggests the same settings in the same order in a fresh study (told
    the same values), and different ones under another seed."""
    space = {"lr": {"type": "float", "low": 1.0e-3, "high": 9.0e-3, "step": 1.0e-3}, "batch_size": {"type": "int", "low": 8, "high": 64, "step": 8}}

    def suggestions(seed: int, journal: Path) -> list[dict]:
        config = SearchConfig.model_validate({"model": "m", "space": space, "sampler": sampler, "seed": seed})
        study = Search("s", config, {"task": "classification", "monitor": "val_loss"}, 0, {}, "s-study").open(journal)
        out = []
        for _ in range(6):
            trial = study.ask()
            out.append(sample_settings(trial, config.space))
            study.tell(trial, out[-1]["lr"] * out[-1]["batch_size"])
        return out

    first = suggestions(1, tmp_path / "a.log")
    assert first == suggestions(1, tmp_path / "b.log") and first != suggestions(2, tmp_path / "c.log")
    assert len({tuple(s.values()) for s in first}) > 1


def test_second_objectives_measure_the_trained_network(small_cfg, small_store, tmp_path):
    cfg = ModelConfig.model_validate({"architecture": "test_resnet", "dataset": "small", "epochs": 1, "batch_size": 8, "threads": 1})
    outputs = TrainOutputs(tmp_path / "checkpoint.pt", tmp_path / "history.csv", tmp_path / "info.json")
    rows = []
    train_model("net", cfg, small_store, outputs, seed=0, split=small_cfg.datasets["small"].split.model_dump(), epoch_end=lambda e, row: rows.append((e, row)))
    assert [e for e, _ in rows] == [0] and "val_loss" in rows[0][1]  # the trainer's per-epoch hook
    expected = sum(p.numel() for p in create_model("test_resnet", in_chans=1, num_outputs=3, img_size=24).parameters())
    assert second_objective("params", outputs.checkpoint) == expected
    seconds = second_objective("inference_time", outputs.checkpoint)
    assert 0 < seconds < 1 and torch.get_num_threads() == 1


def test_a_trial_that_cannot_train_fails_alone(small_cfg, small_store, tmp_path):
    """A sampled setting the network refuses (a ViT patch that does not divide the image) fails
    its trial, with the error recorded; the worker goes on. A study with no complete trial has no
    best configuration, and says so."""
    patch = {"architecture_args.patch_size": {"type": "categorical", "choices": [4, 5]}}
    search = _search(_search_spec(small_cfg, n_trials=2, architecture="test_vit", space=patch))
    journal = tmp_path / "journal.log"
    search.open(journal).enqueue_trial({"architecture_args.patch_size": 5})
    summary = run_worker(search, 0, small_store, journal, tmp_path / "scratch")
    assert summary.failed >= 1 and summary.complete + summary.pruned + summary.failed == 2
    failed = _trials(search, journal)[0]
    assert failed.state == optuna.trial.TrialState.FAIL and "divisible by patch size (5)" in failed.user_attrs["error"]
    empty = optuna.create_study()
    empty.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    with pytest.raises(DeeplenseError, match="has no complete trial"):
        best_trial(empty)


def test_grid_runs_each_point_once():
    grid = {"lr": {"type": "float", "low": 1.0e-3, "high": 3.0e-3, "step": 1.0e-3}, "optimizer": {"type": "categorical", "choices": ["adamw", "sgd"]}}
    config = SearchConfig.model_validate({"model": "m", "space": grid, "sampler": "grid", "n_trials": 100})
    search = Search("g", config, {"task": "classification", "monitor": "val_loss"}, 0, {}, "g-study")
    assert search.budget() == 6 and grid["lr"]["low"] in config.space["lr"].values()


def test_killed_worker_trial_fails_on_resume_and_study_completes(small_cfg, small_store, tmp_path):
    spec = _search_spec(small_cfg, n_trials=2)
    search = _search(spec)
    journal = tmp_path / "journal.log"
    worker = [sys.executable, "-m", "deeplense", "search-worker", "--spec", spec, "--worker", "1", "--store", str(small_store),
              "--journal", str(journal), "--scratch", str(tmp_path / "scratch"), "--output", str(tmp_path / "worker1.done")]
    marker = tmp_path / "paused"
    proc = subprocess.Popen(worker, env={**ENV, PAUSE_VARIABLE: "search.trial_started", MARKER_VARIABLE: str(marker)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while not marker.exists():
        assert proc.poll() is None, "the worker ended before its first trial"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (killed,) = _trials(search, journal)
    assert killed.state == optuna.trial.TrialState.RUNNING and killed.user_attrs[WORKER_ATTR] == 1
    out = subprocess.run(worker, env=ENV, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "failed trial(s) [0] left running by a killed run" in out.stdout
    states = [t.state for t in _trials(search, journal)]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert (tmp_path / "worker1.done").exists()
    study = search.open(journal)
    study.enqueue_trial({"lr": 1e-3})
    orphan = study.ask()
    orphan.set_user_attr(WORKER_ATTR, 5)  # a slot of a run with more workers than the search has now
    assert fail_stale_trials(study, 0, 2) == [orphan.number] and _trials(search, journal)[-1].state == optuna.trial.TrialState.FAIL


@pytest.mark.e2e
def test_search_through_the_snakefile(tmp_path):
    """A 3-trial architecture search, 2 workers, 1-epoch trials: trials.csv, figures, the best
    config trained as hp_best and ranked on the leaderboard, and a rerun that runs nothing."""
    raw = yaml.safe_load(TINY_CONFIG.read_text())
    raw["simulation"]["shard_size"] = 24  # one simulation job per class
    raw["models"] = {"net": {"architecture": "test_resnet", "dataset": "tiny", "epochs": 2, "batch_size": 16, "threads": 1}}
    raw.pop("predictions")  # tiny.yaml's prediction sets and population use models replaced here
    raw.pop("populations")
    raw["searches"] = {"hp": {
        "model": "net", "n_trials": 3, "workers": 2, "trial_epochs": 1, "seed": 2, "pruner": "none",
        "space": {"lr": LR, "architecture": {"type": "categorical", "choices": {
            "test_resnet": {}, "test_vit": {"architecture_args.patch_size": {"type": "categorical", "choices": [4, 8]},
                                            "architecture_args.depth": {"type": "int", "low": 1, "high": 2}}}}},
    }}
    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    work = tmp_path / "work"
    snakemake = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(work), "--configfile", str(config)]
    out = subprocess.run([*snakemake, "--cores", "2"], capture_output=True, text=True, env=ENV, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    searches = work / "results" / "searches" / "hp"
    with open(searches / "trials.csv", newline="") as fh:
        trials = list(csv.DictReader(fh))
    assert len(trials) >= 3 and {t["state"] for t in trials} == {"COMPLETE"}
    assert {t["worker"] for t in trials} <= {"0", "1"} and all(float(t["duration_s"]) > 0 for t in trials)
    assert {"param lr", "param architecture"} <= set(trials[0]) and {t["param architecture"] for t in trials} <= {"test_resnet", "test_vit"}
    best = json.loads((searches / "best_model.json").read_text())
    assert best["model_name"] == "hp_best" and best["model"]["epochs"] == 2  # the full epochs, not trial_epochs
    for figure in ("history", "importances", "parallel_coordinates"):
        assert_drawn(searches / "figures" / f"{figure}.png")
    with open(work / "results" / "leaderboard.csv", newline="") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert rows["hp_best"]["search"] == "hp" and rows["net"]["search"] == ""
    assert rows["hp_best"]["architecture"] == best["model"]["architecture"]
    dry = subprocess.run([*snakemake, "--dry-run", "--cores", "1"], capture_output=True, text=True, env=ENV)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr
    report = subprocess.run([*snakemake, "--cores", "1", "--report", str(work / "report.html")], capture_output=True, text=True, env=ENV)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "parallel_coordinates.png" in (work / "report.html").read_text()
