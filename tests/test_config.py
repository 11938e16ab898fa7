"""A bad config fails before anything runs, naming the field, the bad value and what is allowed."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from deeplense.config import ConfigError, json_schema
from deeplense.experiment import load_config

ROOT = Path(__file__).resolve().parents[1]


def default_raw() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_default_and_tiny_configs_are_valid():
    cfg = load_config(ROOT / "config.yaml")
    classes = cfg.datasets["demo"].classes
    assert [c.name for c in classes] == ["no_sub", "cdm", "wdm", "sidm", "vortex", "axion"]
    assert {c.scenario for c in classes} == {"no_sub", "cdm", "wdm", "sidm", "vortex", "axion"}
    # defaults of the scenario are resolved into the stored config
    assert classes[1].params["sigma_sub"] == 0.025 and classes[1].params["log_mhigh"] == 10.0
    assert classes[5].params["log10_m_axion"] == {"dist": "uniform", "low": -24.0, "high": -22.0}
    load_config(ROOT / "tests" / "configs" / "tiny.yaml")


def broken(path: list, value) -> dict:
    raw = copy.deepcopy(default_raw())
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["datasets", "demo", "classes", 1, "scenario"], "wimp", ["datasets.demo.classes[1].scenario = 'wimp'", "'wimp'", "allowed: axion, cdm, no_sub, sidm, sphere, vortex, wdm"]),
        (["datasets", "demo", "classes", 0, "n_images"], -5, ["datasets.demo.classes[0].n_images", "-5", "greater than 0"]),
        (["datasets", "demo", "classes", 0, "n_images"], KeyError, ["datasets.demo.classes[0].n_images", "Field required"]),
        (["datasets", "demo", "classes", 1, "params", "shmf_log_slope"], "steep", ["datasets.demo.classes[1]", "shmf_log_slope", "'steep'"]),
        (["datasets", "demo", "classes", 1, "params", "n_subhaloes"], 3, ["datasets.demo.classes[1].params.n_subhaloes = 3", "unknown field", "allowed: sigma_sub"]),
        (["datasets", "demo", "classes", 1, "params", "recipe"], "fuzzy", ["datasets.demo.classes[1].params.recipe = 'fuzzy'", "unknown recipe; allowed: deeplense, pyhalo"]),
        (["datasets", "demo", "classes", 2, "params", "log_mlow"], 11.5, ["datasets.demo.classes[2].params.log_mlow = 11.5", "less than or equal to 11"]),
        (["datasets", "demo", "classes", 3, "params"], {"probabilities_subhalos": [0.5]}, ["datasets.demo.classes[3].params.probabilities_subhalos = [0.5]", "same length as mass_ranges_subhalos"]),
        (["datasets", "demo", "source", "profile"], "INTERPOL", ["datasets.demo.source.images: profile INTERPOL needs `images`"]),
        (["datasets", "demo", "instrument", "preset"], "jwst", ["datasets.demo.instrument.preset = 'jwst'", "allowed: custom, deeplense_model_i, euclid_vis, hst_wfc3"]),
        (["datasets", "demo", "split", "test"], 0.5, ["datasets.demo.split: train + val + test must be 1, got 1.35"]),
        (["models", "resnet18", "dataset"], "nope", ["models.resnet18.dataset = 'nope'", "allowed: demo"]),
        (["models", "resnet18", "architecture"], "resnet9000", ["models.resnet18.architecture = 'resnet9000'", "timm"]),
        (["datasets", "demo", "lens", "theta_E"], {"dist": "uniform", "low": 2, "high": 1}, ["datasets.demo.lens.theta_E.high = 1.0: must be above low (2)"]),
        (["models", "resnet18", "task"], "segmentation", ["models.resnet18.task = 'segmentation'", "'classification', 'regression', 'anomaly' or 'posterior'"]),
        (["models", "resnet18", "task"], "regression", ["models.resnet18.targets: task regression needs `targets`"]),
        (["models", "resnet18", "loss"], "mse", ["models.resnet18.loss = 'mse': does not fit task classification", "allowed: cross_entropy"]),
        (["models", "resnet18", "monitor"], "val_mae", ["models.resnet18.monitor = 'val_mae': does not fit task classification", "val_auc"]),
        (["models", "resnet18", "optimizer"], "lamb", ["models.resnet18.optimizer = 'lamb'", "'adamw', 'sgd' or 'sam'"]),
        (["models", "resnet18", "scheduler"], "step", ["models.resnet18.scheduler = 'step'", "'plateau'"]),
        (["models", "resnet18", "classes"], ["no_sub", "fuzzy"], ["models.resnet18.classes[1] = 'fuzzy': not a class of dataset demo", "allowed: no_sub, cdm"]),
        (["models", "resnet18", "evaluate_on"], ["euclid"], ["models.resnet18.evaluate_on[0] = 'euclid': not a dataset", "allowed: demo"]),
        (["models", "resnet18", "early_stopping"], 0, ["models.resnet18.early_stopping = 0", "greater than 0"]),
        (["seed"], KeyError, None),  # seed has a default: not an error
    ],
)
def test_errors_name_field_value_and_allowed(path, value, expected):
    raw = broken(path, value)
    if expected is None:
        load_config(raw)
        return
    with pytest.raises(ConfigError) as err:
        load_config(raw, "config.yaml")
    message = str(err.value)
    assert message.startswith("invalid config config.yaml:")
    for fragment in expected:
        assert fragment in message, message


def test_missing_datasets_and_unknown_top_level_field():
    with pytest.raises(ConfigError, match=r"datasets: Field required"):
        load_config({"models": {}})
    with pytest.raises(ConfigError, match=r"epochz = 3: unknown field; allowed: seed, simulation"):
        load_config({**default_raw(), "epochz": 3})


def test_config_file_errors():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Path("/nonexistent/config.yaml"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config([1, 2])  # type: ignore[arg-type]


def test_exported_schema_is_current():
    """workflow/schemas/config.schema.json is generated from the pydantic models (`deeplense schema`)."""
    stored = json.loads((ROOT / "workflow" / "schemas" / "config.schema.json").read_text())
    assert stored == json.loads(json.dumps(json_schema())), "run: deeplense schema > workflow/schemas/config.schema.json"
