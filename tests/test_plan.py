"""Rule specs: each holds exactly what its outputs depend on, plus the deeplense version."""

import json

import deeplense
from deeplense.workflow import plan
from tests.conftest import small_config


def test_specs_carry_the_code_version(monkeypatch):
    cfg = small_config()
    before = plan.shard_job(cfg, "small", "cdm").to_spec()
    assert json.loads(before)["version"] == deeplense.__version__
    monkeypatch.setattr(deeplense, "__version__", "99.0.0")
    assert plan.shard_job(cfg, "small", "cdm").to_spec() != before  # older outputs are recognised and rebuilt
    assert json.loads(plan.store_spec(cfg, "small"))["version"] == "99.0.0"


def test_simulate_spec_ignores_other_classes_and_models():
    cfg = small_config()
    spec = plan.shard_job(cfg, "small", "cdm").to_spec()
    cfg.datasets["small"].classes[2].params["mass"] = 1e11  # another class's physics
    cfg.datasets["small"].split.train = 0.5
    assert plan.shard_job(cfg, "small", "cdm").to_spec() == spec
    cfg.datasets["small"].classes[1].params["n_subhalos"] = 7  # this class's physics
    assert plan.shard_job(cfg, "small", "cdm").to_spec() != spec


def test_shard_paths_follow_shard_size():
    cfg = small_config(n=12)
    assert len(plan.shard_paths(cfg, "small")) == 9  # 3 classes × ceil(12 / 5)
    key = plan.shard_job(cfg, "small", "no_sub").key
    assert plan.shard_paths(cfg, "small")[0] == f"results/shards/no_sub/{key}/0000.zarr"


def test_a_spec_is_its_json_on_the_command_line_and_its_digest_for_snakemake():
    """The job gets the whole spec; Snakemake records, compares and prints the params by repr: a
    digest of the whole spec, so the rerun trigger stays exact and a dry run stays readable."""
    cfg = small_config()
    spec = plan.shard_job(cfg, "small", "cdm").to_spec()
    assert json.loads(spec)["class"]["name"] == "cdm" and f"{spec}" == str(spec) and len(spec) > 500
    assert repr(spec) == f"spec {spec.digest}" and len(repr(spec)) == len("spec sha256:") + 16
    cfg.datasets["small"].classes[1].params["n_subhalos"] = 6
    changed = plan.shard_job(cfg, "small", "cdm").to_spec()
    assert repr(changed) != repr(spec)
    assert repr(plan.shard_job(small_config(), "small", "cdm").to_spec()) == repr(spec)  # the same config, the same digest


def test_longest_jobs_first():
    """Snakemake priorities estimate each job's work, so that on a few cores the long jobs start
    first: a shard's images (a pyHalo image weighs ten), a training's epochs × training images
    (a search's best model estimated by its base model)."""
    from pathlib import Path

    from deeplense.experiment import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "config.yaml")
    shard = cfg.simulation.shard_size
    cdm, no_sub = (plan.shard_job(cfg, "demo", c).key for c in ("cdm", "no_sub"))
    assert plan.shard_priority(cfg, "cdm", cdm, 0) == shard * plan.PYHALO_IMAGE_WEIGHT  # pyHalo CDM
    assert plan.shard_priority(cfg, "no_sub", no_sub, 0) == shard and plan.shard_priority(cfg, "no_sub", no_sub, 1) == 300 - shard
    train = {c: n["train"] for c, n in cfg.datasets["demo"].split_images().items()}
    assert train["no_sub"] == 210 and plan.train_priority(cfg, "resnet18") == 8 * (train["no_sub"] + train["cdm"] + train["axion"])
    assert plan.train_priority(cfg, "anomaly_vae") == 12 * train["no_sub"]  # it learns from smooth lenses only
    searched = load_config({**cfg.model_dump(mode="json"), "searches": {"hp": {
        "model": "resnet18", "n_trials": 2, "space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}}}}, build_models=False)
    assert plan.train_priority(searched, "hp_best") == plan.train_priority(cfg, "resnet18")
