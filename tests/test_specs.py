"""The typed contract between the plan and the command line: every spec the plan gives a rule is
read back by the CLI's model into exactly the same JSON, and a spec that does not fit the model
fails naming the field."""

from __future__ import annotations

import json

import pytest
import yaml

from deeplense.errors import DeeplenseError
from deeplense.experiment import load_config
from deeplense.workflow import plan
from deeplense.workflow.specs import LearningCurveSpec, ModelSpec, ReproductionSpec, SearchSpec, SimulateSpec, StoreSpec, SweepSpec
from tests.conftest import ROOT, TINY_CONFIG


def _specs() -> list[tuple[type, str]]:
    raw = yaml.safe_load(TINY_CONFIG.read_text())
    raw["sweeps"] = {"vmass": {"dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 3e10], "models": ["resnet18"]}}
    raw["searches"] = {"hp": {"model": "resnet18", "space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}}}
    tiny = load_config(raw, build_models=False)
    readme = load_config(ROOT / "tests/configs/readme.yaml", build_models=False)
    specs = [(SimulateSpec, plan.shard_job(tiny, "tiny", c.name).to_spec()) for c in tiny.datasets["tiny"].classes]
    specs += [(StoreSpec, plan.store_spec(tiny, d)) for d in tiny.datasets]
    specs += [(ModelSpec, plan.model_spec(tiny, m)) for m in tiny.models]
    specs += [(ModelSpec, plan.cross_evaluation_spec(readme, m, d)) for m, d in plan.cross_evaluations(readme)]
    specs += [(SweepSpec, plan.sweep_spec(tiny, "vmass")), (ReproductionSpec, plan.reproduction_spec(readme))]
    specs += [(LearningCurveSpec, plan.learning_curve_spec(readme, c)) for c in readme.learning_curves]
    specs += [(SearchSpec, plan.search_spec(tiny, "hp"))]
    return specs


def test_the_cli_reads_back_exactly_what_the_plan_wrote():
    specs = _specs()
    assert {kind for kind, _ in specs} >= {SimulateSpec, StoreSpec, ModelSpec, SweepSpec, ReproductionSpec, SearchSpec}
    for kind, text in specs:
        assert kind.parse(text).to_spec() == text, kind.__name__


def test_typed_fields_give_the_configs_the_steps_use():
    tiny = load_config(TINY_CONFIG, build_models=False)
    sim = SimulateSpec.parse(plan.shard_job(tiny, "tiny", "cdm").to_spec())
    assert sim.class_config().name == "cdm" and [c.name for c in sim.dataset_config().classes] == ["cdm"]
    job = plan.model_job(tiny, "resnet18")
    assert job.config() == tiny.models["resnet18"] and job.eval_dataset is None
    assert "eval_dataset" not in json.loads(job.to_spec())  # an own-split evaluation leaves it out


def test_a_spec_that_does_not_fit_names_the_field():
    text = json.loads(plan.store_spec(load_config(TINY_CONFIG, build_models=False), "tiny"))
    text["dataset_nmae"] = text.pop("dataset_name")
    with pytest.raises(DeeplenseError, match="dataset_name: Field required; dataset_nmae: Extra inputs are not permitted.*allowed fields: version, seed, dataset_name"):
        StoreSpec.parse(json.dumps(text))
