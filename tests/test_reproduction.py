"""The reproduction table: models that name a published DeepLense value are put beside it, with
the training images per class and the image size on both sides."""


import pytest
import yaml

from deeplense.config import ConfigError
from deeplense.experiment import load_config
from deeplense.report.reproduction import reproduction_table, write_reproduction
from deeplense.workflow import plan
from tests.records import write_metrics, write_train_info
from tests.test_workflow import TINY


def tiny_reproducing(reproduces, evaluate_on=None):
    raw = yaml.safe_load(TINY.read_text())
    raw["datasets"]["other"] = {**raw["datasets"]["tiny"], "z_source": 1.5}  # another recipe: other images
    raw["models"]["resnet18"].update(reproduces=reproduces, evaluate_on=evaluate_on or [])
    return raw


def test_entries_name_the_metrics_of_the_evaluation_they_compare():
    cfg = load_config(tiny_reproducing({"tiny": "Model A: ResNet-18", "other": ["Model B: equivariant, trained on Model A",
                                                                              "Model B: equivariant, trained on Model A (AUROC)"]}, ["other"]), "tiny")
    inputs = plan.reproduction_inputs(cfg)
    assert inputs["metrics"] == ["results/models/resnet18/metrics.json"] + ["results/models/resnet18/on/other/metrics.json"] * 2
    assert inputs["infos"] == ["results/models/resnet18/train_info.json"] * 3
    assert cfg.models["resnet18"].config_hash(7, cfg.datasets["tiny"].split.model_dump()) == load_config(
        yaml.safe_load(TINY.read_text()), "tiny").models["resnet18"].config_hash(7, cfg.datasets["tiny"].split.model_dump())  # no retraining


@pytest.mark.parametrize(("reproduces", "expected"), [
    ({"tiny": "Model A: ResNet18"}, "models.resnet18.reproduces.tiny = 'Model A: ResNet18': not a published classification value; did you mean 'Model A: ResNet-18'? allowed: Model I: CoAtNet-nano"),
    ({"other": "Model A: ResNet-18"}, "models.resnet18.reproduces.other = 'Model A: ResNet-18': other is not where the model is evaluated; allowed: tiny"),
    ({"tiny": "Model III: XResNet18 hybrid"}, "not a published classification value"),  # a regression value
])
def test_a_value_that_does_not_exist_or_fit_is_refused(reproduces, expected):
    with pytest.raises(ConfigError) as e:
        load_config(tiny_reproducing(reproduces), "tiny")
    assert expected in str(e.value)


def test_table_puts_ours_beside_the_published_value(tmp_path):
    write_metrics(tmp_path / "m.json", {"auc_micro": 0.9871}, model="r18", dataset="model_a", ci={"auc_micro": {"low": 0.98, "high": 0.993}})
    write_train_info(tmp_path / "i.json", train_per_class={"no_sub": 700, "sphere": 700, "vort": 700}, image_shape=(1, 150, 150))
    table = reproduction_table([{"model": "r18", "eval_dataset": "model_a", "published": "Model A: ResNet-18"}], [tmp_path / "m.json"], [tmp_path / "i.json"])
    row = table.iloc[0]
    assert (row["published"], row["metric"], row["ours [95% CI]"]) == (0.9942, "auc_micro", "0.9871 [0.9800, 0.9930]")
    assert (row["our train/class"], row["our size"], row["published size"]) == (700, "150×150", "150×150")
    assert "arxiv.org" in row["source"] or "github.com" in row["source"]
    write_reproduction(table, tmp_path / "r.csv", tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r_summary.html")
    assert "DeepLense Model A" in (tmp_path / "r.html").read_text() and "| Model A" in (tmp_path / "r.md").read_text()
    # the brief for the report's landing page: published value and ours side by side
    assert "<td>0.994 (ResNet-18)</td><td style='white-space:nowrap'>0.987 [0.980, 0.993]</td><td>r18</td>" in (tmp_path / "r_summary.html").read_text()
