"""Sweeps expand into ordinary datasets and models; the sensitivity table and plot follow."""

import json

import pytest
import yaml

from deeplense.config import ConfigError
from deeplense.experiment import load_config
from deeplense.report.sensitivity import metric_value, plot_sensitivity, sensitivity_table
from deeplense.experiment.sweeps import sweep_points
from deeplense.workflow import plan
from tests.conftest import TINY_CONFIG
from tests.figures import saved_figures  # noqa: F401 (a fixture)
from tests.records import write_metrics


def tiny_with_sweep(**sweep):
    raw = yaml.safe_load(TINY_CONFIG.read_text())
    raw["sweeps"] = {"vmass": {"dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 3e10, 1e11], "models": ["resnet18"], **sweep}}
    return raw


def test_sweep_expands_into_datasets_and_models():
    cfg = load_config(tiny_with_sweep())
    points = ["tiny__vmass_0", "tiny__vmass_1", "tiny__vmass_2"]
    assert list(cfg.datasets) == ["tiny", "tiny__source_x_pop_0", "tiny__source_x_pop_1", *points]  # populations, then the sweep
    assert list(cfg.models) == ["resnet18", "vortex_length", "anomaly_ae", "source_x", "resnet18__vmass_0", "resnet18__vmass_1", "resnet18__vmass_2"]
    masses = [next(c for c in cfg.datasets[f"tiny__vmass_{i}"].classes if c.name == "vortex").params["mass"] for i in range(3)]
    assert masses == [1e10, 3e10, 1e11]
    # everything else is the base dataset's
    base, point = cfg.datasets["tiny"], cfg.datasets["tiny__vmass_2"]
    assert point.instrument == base.instrument and [c.name for c in point.classes] == [c.name for c in base.classes]
    assert cfg.models["resnet18__vmass_1"].dataset == "tiny__vmass_1"
    points = sweep_points(cfg.model_dump(mode="json"), "vmass")
    assert [(p["value"], p["model"]) for p in points] == [(1e10, "resnet18__vmass_0"), (3e10, "resnet18__vmass_1"), (1e11, "resnet18__vmass_2")]


def test_sweep_over_a_distribution_and_bad_paths():
    cfg = load_config(tiny_with_sweep(values=[{"dist": "uniform", "low": 0.5, "high": 1.0}, {"dist": "uniform", "low": 1.0, "high": 2.0}], parameter="classes.vortex.params.length"))
    assert cfg.datasets["tiny__vmass_1"].classes[2].params["length"] == {"dist": "uniform", "low": 1.0, "high": 2.0}
    with pytest.raises(ConfigError, match=r"sweeps.vmass.parameter = 'classes.wimp.params.mass': in dataset tiny: no item named 'wimp'; allowed: no_sub, cdm, vortex"):
        load_config(tiny_with_sweep(parameter="classes.wimp.params.mass"))
    with pytest.raises(ConfigError, match=r"sweeps.vmass.dataset = 'nope': not a dataset; allowed: tiny"):
        load_config(tiny_with_sweep(dataset="nope"))


def test_sweep_errors_name_the_sweep_as_written():
    """A problem in a generated dataset is told at the sweep value that caused it; one the base
    dataset has too is reported once, at the base dataset; never under a generated name."""
    with pytest.raises(ConfigError) as err:
        load_config(tiny_with_sweep(parameter="classes.vortex.n_images", values=[10, -1]))
    assert "sweeps.vmass.values[1] = -1: gives datasets.tiny.classes[2].n_images = -1: Input should be greater than 0" in str(err.value)
    raw = tiny_with_sweep(parameter="classes.vortex.params.masss")
    raw["datasets"]["tiny"]["classes"][0]["n_images"] = 0
    with pytest.raises(ConfigError) as err:
        load_config(raw, "bad.yaml")
    lines = str(err.value).splitlines()
    assert lines == [
        "invalid config bad.yaml:",
        "  datasets.tiny.classes[0].n_images = 0: Input should be greater than 0",
        "  sweeps.vmass.parameter = 'classes.vortex.params.masss': gives datasets.tiny.classes[2].params.masss: "
        "unknown field; did you mean 'mass'? allowed: n_vortices, n_points, mass, length, offset_max, angle, placement",
    ], lines
    assert "__vmass" not in str(err.value)


def test_sensitivity_table_and_plot(tmp_path, saved_figures):
    cfg = load_config(tiny_with_sweep())
    points = sweep_points(cfg.model_dump(mode="json"), "vmass")
    files = []
    for i, p in enumerate(points):
        files.append(write_metrics(tmp_path / f"{i}.json", {"auc_macro": 0.6 + 0.1 * i, "auc_per_class": {"vortex": 0.5 + 0.2 * i}}, model=p["model"]))
    table = sensitivity_table(points, files, "auc_per_class.vortex")
    assert table["auc_per_class.vortex"].tolist() == pytest.approx([0.5, 0.7, 0.9])
    assert table["value"].tolist() == [1e10, 3e10, 1e11]
    spec = json.loads(plan.sweep_spec(cfg, "vmass"))
    assert (spec["shared_classes"], spec["resimulated_classes"]) == (["no_sub", "cdm"], ["vortex"])
    plot_sensitivity(table, "auc_per_class.vortex", "classes.vortex.params.mass", "vmass", tmp_path / "s.png", tmp_path / "s.csv",
                     shared=spec["shared_classes"], resimulated=spec["resimulated_classes"])
    assert "auc_per_class.vortex" in (tmp_path / "s.csv").read_text()
    (note,) = saved_figures["s.png"].texts
    assert note.get_text() == "same images at every point: no_sub, cdm; simulated anew at each: vortex"
    ax = saved_figures["s.png"].axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1e10, 3e10, 1e11] and list(line.get_ydata()) == pytest.approx([0.5, 0.7, 0.9])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("classes.vortex.params.mass", "auc_per_class.vortex (test split)")
    with pytest.raises(KeyError, match="metric 'auc_per_class.wdm' not in metrics.json"):
        metric_value({"auc_per_class": {"vortex": 1.0}}, "auc_per_class.wdm")


def test_a_sweep_trains_only_models_that_read_the_swept_class():
    """A class's parameter changes only that class's images: vortex_length (vortex only) would
    train on the same images at every point of a CDM sweep, so the default leaves it out and naming
    it is refused; a parameter every class shares keeps every model."""
    cdm = {"parameter": "classes.cdm.params.n_subhalos", "values": [5, 20], "models": None}
    assert [p["base_model"] for p in sweep_points(tiny_with_sweep(**cdm), "vmass")] == ["resnet18", "anomaly_ae"] * 2
    # one metric is plotted for every model: the anomaly model writes `auc`, not the default auc_macro
    with pytest.raises(ConfigError, match=r"sweeps\.vmass\.metric = 'auc_macro': not a metric that evaluation writes for models "
                                          r"resnet18, anomaly_ae; allowed: auc_per_class\.cdm, auc_per_class\.vortex"):
        load_config(tiny_with_sweep(**cdm))
    load_config(tiny_with_sweep(**cdm, metric="auc_per_class.cdm"))
    with pytest.raises(ConfigError, match=r"sweeps\.vmass\.models\[0\] = 'vortex_length': model vortex_length reads classes vortex, not cdm: "
                                          r"it would train on the same images at every point"):
        load_config(tiny_with_sweep(**{**cdm, "models": ["vortex_length"]}))
    shared = tiny_with_sweep(parameter="instrument.psf_fwhm", values=[0.2, 0.3], models=None)
    assert {p["base_model"] for p in sweep_points(shared, "vmass")} == {"resnet18", "vortex_length", "anomaly_ae", "source_x"}
    raw = tiny_with_sweep(**cdm)
    del raw["models"]["resnet18"], raw["models"]["anomaly_ae"]
    with pytest.raises(ConfigError, match=r"sweeps\.vmass\.models: no model on dataset tiny reads class cdm"):
        load_config(raw)
