"""Cross-dataset evaluation (domain shift) in the plan and the workflow's dry run."""

from __future__ import annotations

import json

import yaml

from deeplense.experiment import load_config
from deeplense.workflow import plan
from tests.test_workflow import TINY, planned_jobs


def _cross_config() -> dict:
    cfg = yaml.safe_load(TINY.read_text())
    shifted = json.loads(json.dumps(cfg["datasets"]["tiny"]))
    shifted["instrument"]["psf_fwhm"] = 0.3
    shifted["split"] = {"train": 0.5, "val": 0.25, "test": 0.25}
    cfg["datasets"]["tiny_b"] = shifted
    cfg["models"]["resnet18"]["evaluate_on"] = ["tiny_b"]
    return cfg


def test_cross_evaluation_spec_uses_the_other_datasets_split():
    cfg = load_config(_cross_config())
    assert plan.cross_evaluations(cfg) == [("resnet18", "tiny_b")]
    own, cross = json.loads(plan.model_spec(cfg, "resnet18")), json.loads(plan.cross_evaluation_spec(cfg, "resnet18", "tiny_b"))
    assert cross["eval_dataset"] == "tiny_b" and cross["split"] == {"train": 0.5, "val": 0.25, "test": 0.25}
    assert cross["model"] == own["model"] and cross["seed"] == own["seed"]


def test_cross_evaluation_is_planned_with_the_leaderboard(tmp_path):
    path = tmp_path / "cross.yaml"
    cfg = _cross_config()
    path.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(tmp_path / "work", path)
    n = len(cfg["models"])
    posterior = sum(m.get("task") == "posterior" for m in cfg["models"].values())  # evaluated under Inference
    assert jobs["train_model"] == n and jobs["evaluate_model"] == n - posterior and jobs["evaluate_posterior"] == posterior
    assert jobs["evaluate_on_dataset"] == 1  # only resnet18 asks
    assert jobs["dataset_parameters"] == 2 + 2 and jobs["leaderboard"] == 1  # tiny, tiny_b and the two populations
