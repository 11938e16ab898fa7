"""One load reports every independent config mistake, suggests the closest allowed name wherever a
name is chosen from a list, and refuses a sweep's or learning curve's metric that evaluation does
not write; through `deeplense check-config` and a Snakemake dry run alike."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deeplense.cli import main as deeplense_main
from deeplense.config import ConfigError
from deeplense.experiment import load_config

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def refusal(cfg: dict) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(cfg, build_models=False)
    return str(e.value)


def three_mistakes() -> dict:
    """A field error in one dataset, the lens behind the source in another, an unknown scenario in
    a third, and a model on a misspelt class of the valid dataset."""
    cfg = copy.deepcopy(TINY)
    for name in ("a", "b", "c"):
        cfg["datasets"][name] = copy.deepcopy(TINY["datasets"]["tiny"])
    cfg["datasets"]["a"]["instrument"]["num_pix"] = 4
    cfg["datasets"]["b"]["z_source"] = 0.4
    cfg["datasets"]["c"]["classes"][1]["scenario"] = "sidn"
    cfg["models"]["misspelt"] = {"architecture": "resnet18", "dataset": "tiny", "classes": ["cmd", "vortex"]}
    return cfg


EXPECTED = (
    "datasets.a.instrument.num_pix = 4: Input should be greater than or equal to 8",
    "datasets.b.z_lens = 0.5: must be below z_source (0.4)",
    "datasets.c.classes[1].scenario = 'sidn': unknown dark-matter scenario 'sidn'; did you mean 'sidm'? allowed: axion, cdm,",
    "models.misspelt.classes[0] = 'cmd': not a class of dataset tiny; did you mean 'cdm'? allowed: no_sub, cdm, vortex",
)


def test_independent_mistakes_in_one_pass():
    text = refusal(three_mistakes())
    for line in EXPECTED:
        assert line in text, text


def test_cross_field_check_beside_field_errors_of_the_same_dataset():
    """z_source below z_lens is reported with the dataset's field errors, not after them."""
    cfg = copy.deepcopy(TINY)
    dataset = cfg["datasets"]["tiny"]
    dataset.update(z_source=0.4)
    dataset["instrument"]["num_pix"] = 4
    dataset["classes"][1]["scenario"] = "sidn"
    text = refusal(cfg)
    assert "datasets.tiny.z_lens = 0.5: must be below z_source (0.4)" in text, text
    assert "datasets.tiny.instrument.num_pix = 4" in text and "did you mean 'sidm'?" in text, text


def test_a_broken_sweep_hides_nothing_else():
    cfg = copy.deepcopy(TINY)
    cfg["sweeps"] = {"s": {"dataset": "tini", "parameter": "z_lens", "values": [0.3, 0.4]}}
    cfg["datasets"]["tiny"]["z_source"] = 0.4
    text = refusal(cfg)
    assert "sweeps.s.dataset = 'tini': not a dataset; did you mean 'tiny'?" in text, text
    assert "datasets.tiny.z_lens = 0.5: must be below z_source (0.4)" in text, text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["datasets"]["tiny"].update(lens={"theta_E": {"dist": "loguniform", "low": 1.0, "high": 1.2}}),
         "datasets.tiny.lens.theta_E.dist = 'loguniform': unknown distribution; did you mean 'log_uniform'? allowed: fixed, uniform"),
        (lambda c: c["datasets"]["tiny"]["classes"][1].update(scenario="sidn"), "did you mean 'sidm'?"),
        (lambda c: c["models"]["resnet18"].update(architecture="resnet181"),
         "models.resnet18.architecture = 'resnet181': unknown architecture; did you mean 'resnet18'"),
        (lambda c: c["models"]["resnet18"].update(task="clasification"), "models.resnet18.task = 'clasification':"),
        (lambda c: c["models"]["resnet18"].update(optimizer="adam"), "did you mean 'adamw'?"),
        (lambda c: c["models"]["resnet18"].update(monitor="val_aucc"), "did you mean 'val_auc'?"),
        (lambda c: c["models"]["resnet18"].update(dataset="tyni"), "models.resnet18.dataset = 'tyni': not a dataset; did you mean 'tiny'? allowed: tiny"),
        (lambda c: c["models"]["source_x"]["posterior"].update(estimator="nfs"), "did you mean 'nsf'?"),
        (lambda c: c["datasets"]["tiny"]["instrument"].update(preset="deeplense_model_1"), "did you mean 'deeplense_model_i'?"),
        (lambda c: c["predictions"]["source_x_draws"].update(model="source_y"), "predictions.source_x_draws.model = 'source_y': not a model; did you mean 'source_x'?"),
    ],
    ids=["distribution", "scenario", "architecture", "task", "optimizer", "monitor", "dataset", "estimator", "preset", "prediction_model"],
)
def test_did_you_mean(edit, expected):
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    text = refusal(cfg)
    assert expected in text, text
    if "task" in expected:
        assert "did you mean 'classification'?" in text, text


def with_series(metric_sweep: str, metric_curve: str) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["sweeps"] = {"vmass": {"dataset": "tiny", "parameter": "classes.vortex.params.mass", "values": [1e10, 2e10],
                               "models": ["resnet18"], "metric": metric_sweep}}
    cfg["learning_curves"] = {"lc": {"model": "vortex_length", "images_per_class": [8], "metric": metric_curve}}
    return cfg


def test_plotted_metrics_are_checked_at_load():
    text = refusal(with_series("auc_per_class.wdm", "blah"))
    line = next(ln for ln in text.splitlines() if "sweeps.vmass.metric" in ln)
    assert "= 'auc_per_class.wdm': not a metric that evaluation writes for model resnet18; did you mean 'auc_per_class.cdm'?" in line, line
    assert "allowed: accuracy, auc_macro, auc_micro, auc_per_class.no_sub, auc_per_class.cdm, auc_per_class.vortex" in line, line
    line = next(ln for ln in text.splitlines() if "learning_curves.lc.metric" in ln)
    assert "= 'blah': not a metric that evaluation writes for model vortex_length" in line and "targets.vortex_length.mae" in line, line
    assert "__" not in text  # never a generated model's name


def test_plotted_metrics_that_evaluation_writes_pass():
    cfg = load_config(with_series("auc_per_class.vortex", "targets.vortex_length.uncertainty.nll"), build_models=False)
    assert cfg.sweeps["vmass"]["metric"] == "auc_per_class.vortex"


def test_metric_paths_are_what_metric_value_reads():
    """The allowed names are dotted paths into the metrics a task computes: each resolves there."""
    from deeplense.report.sensitivity import metric_value
    from deeplense.tasks import TASKS

    cfg = load_config(copy.deepcopy(TINY), build_models=False)
    for model in cfg.models.values():
        task = TASKS.get(model.task).from_config(model, cfg.datasets[model.dataset].class_names)
        from deeplense.tasks.base import EvalContext

        values = task.metrics(task.example_predictions(), EvalContext("", Path("."), {}, 0, 0))
        paths = task.metric_paths()
        assert paths and all(isinstance(metric_value(values, p), float) for p in paths)


def test_every_mistake_through_the_cli_and_snakemake(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    cfg = three_mistakes()
    cfg["sweeps"] = with_series("blah", "auc_macro")["sweeps"]
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    capsys.readouterr()
    assert deeplense_main(["check-config", str(config)]) == 1
    captured = capsys.readouterr()
    run = subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path / "work"), "--configfile", str(config),
         "--dry-run", "--cores", "1"], capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 1
    for text in (captured.out + captured.err, run.stderr):
        assert f"invalid config {config}" in text and "Traceback" not in text, text
        for line in (*EXPECTED, "sweeps.vmass.metric = 'blah': not a metric that evaluation writes for model resnet18"):
            assert line in text, text
    assert not (tmp_path / "work" / "results").exists()
