"""Learning curves: a model's points expand into ordinary models trained on the first N images
of each class; the plot reads their metrics and training provenance."""

import json
import re

import numpy as np
import pytest
import yaml

from deeplense.config import ConfigError, ModelConfig
from deeplense.experiment import load_config
from deeplense.data.splits import first_per_class
from deeplense.report.learning_curve import learning_curve_table, plot_learning_curve
from deeplense.training.trainer import TrainOutputs, train_model
from deeplense.workflow import plan
from tests.records import write_metrics, write_train_info
from tests.test_workflow import TINY


def tiny_with_curve(**curve):
    raw = yaml.safe_load(TINY.read_text())
    raw["learning_curves"] = {"r18": {"model": "resnet18", **curve}}
    return raw


def test_points_expand_into_models_and_rules():
    cfg = load_config(tiny_with_curve(images_per_class=[4, 8], metric="auc_macro"), "tiny")
    assert cfg.models["resnet18__n4"].train_images_per_class == 4 and cfg.models["resnet18__n8"].train_images_per_class == 8
    assert cfg.models["resnet18__n4"].model_copy(update={"train_images_per_class": None}) == cfg.models["resnet18"]
    inputs = plan.learning_curve_inputs(cfg, "r18")
    assert inputs["metrics"] == [f"results/models/{m}/metrics.json" for m in ("resnet18__n4", "resnet18__n8", "resnet18")]
    assert json.loads(plan.learning_curve_spec(cfg, "r18"))["models"] == ["resnet18__n4", "resnet18__n8", "resnet18"]


@pytest.mark.parametrize(("curve", "expected"), [
    ({"images_per_class": [8, 4]}, "learning_curves.r18.images_per_class = [8, 4]: must be positive and strictly ascending"),
    ({"model": "resnet81", "images_per_class": [4]}, "learning_curves.r18.model = 'resnet81': not a model; did you mean 'resnet18'? allowed: resnet18"),
    # a point asking for more than the training split holds would train on fewer images than it is labelled with
    ({"images_per_class": [4, 18]}, "learning_curves.r18.images_per_class[1] = 18: more than the training split holds; "
                                    "training images per class of dataset tiny (split.train 0.7): no_sub 17, cdm 17, vortex 17"),
    ({"model": "anomaly_ae", "images_per_class": [1, 4]}, "learning_curves.r18.images_per_class[0] = 1: one training image in all: "
                                                          "a batch of one image is skipped"),
])
def test_bad_curves_are_refused_at_load(curve, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)) as err:
        load_config(tiny_with_curve(**curve), "tiny", build_models=False)
    assert "__" not in str(err.value)  # never a point's generated model name


def test_a_mistake_of_the_base_model_is_told_once():
    """The points copy their model: its mistake is reported at the model only, not again per point."""
    raw = tiny_with_curve(images_per_class=[4, 8])
    raw["models"]["resnet18"]["evaluate_on"] = ["tyni"]
    with pytest.raises(ConfigError) as err:
        load_config(raw, "tiny", build_models=False)
    assert str(err.value).splitlines()[1:] == ["  models.resnet18.evaluate_on[0] = 'tyni': not a dataset; did you mean 'tiny'? allowed: tiny"]


def test_smaller_training_sets_are_nested_subsets():
    labels = np.repeat([0, 1, 2], 10)
    indices = np.arange(0, 30, 2)
    small, large = first_per_class(indices, labels, 2), first_per_class(indices, labels, 4)
    assert set(small) < set(large) and np.bincount(labels[small]).tolist() == [2, 2, 2]


def test_a_point_trains_on_n_images_per_class_and_the_curve_is_drawn(small_store, tmp_path):
    split = {"train": 0.5, "val": 0.25, "test": 0.25}
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=4, shuffle_buffer_mb=1, train_images_per_class=3)
    out = train_model("p3", cfg, small_store, TrainOutputs.in_dir(tmp_path / "p3"), seed=0, split=split)
    info = json.loads(out.info.read_text())
    assert info["train_per_class"] == {"no_sub": 3, "cdm": 3, "vortex": 3} and info["split_sizes"]["train"] == 9
    rows = []
    for n, auc in ((3, 0.6), (6, 0.8)):
        write_metrics(tmp_path / f"m{n}.json", {"auc_macro": auc}, model=f"m{n}", n_test=9, ci={"auc_macro": {"low": auc - 0.1, "high": auc + 0.1}})
        write_train_info(tmp_path / f"i{n}.json", train_per_class={"no_sub": n, "cdm": n, "vortex": n})
        rows.append((tmp_path / f"m{n}.json", tmp_path / f"i{n}.json"))
    table = learning_curve_table([r[0] for r in rows[::-1]], [r[1] for r in rows[::-1]], "auc_macro")
    assert table["train_images_per_class"].tolist() == [3, 6] and table["auc_macro"].tolist() == [0.6, 0.8]
    plot_learning_curve(table, "auc_macro", "test", tmp_path / "lc.png", tmp_path / "lc.csv")
    from PIL import Image

    pixels = np.asarray(Image.open(tmp_path / "lc.png").convert("L"), dtype=float)
    assert pixels.std() > 10 and len((tmp_path / "lc.csv").read_text().splitlines()) == 3
