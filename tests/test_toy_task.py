"""Adding a task is one registered class: a toy task, defined and registered here only, is taken
up without any other edit by the config's validation, training, evaluation, the leaderboard and
the report's captions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deeplense.config import ConfigError
from deeplense.evaluation.evaluate import EvalOutputs, evaluate_model
from deeplense.experiment import load_config
from deeplense.report.captions import figure_captions, model_summary
from deeplense.report.leaderboard import write_leaderboard
from deeplense.tasks import TASKS, Column, Monitor, Task, register_task
from deeplense.tasks.base import VAL_LOSS
from deeplense.training.trainer import TrainOutputs, train_model
from tests.figures import saved_figures  # noqa: F401 (a fixture)
from tests.torch_threads import one_torch_thread  # noqa: F401 (a fixture)

CAPTION = "Test images with no substructure, and the toy model's probability that they have none."


@pytest.fixture
def toy_task():
    """A binary task: does an image have no substructure (its store's first class)?"""

    @register_task
    class NoSubstructure(Task):
        name = "toy_no_sub"
        losses = ("toy_bce",)
        monitors = {**VAL_LOSS, "val_hit_rate": Monitor("validation hit rate", maximise=True, fraction=True)}
        headline = ("hit_rate",)
        figures = {"hits": CAPTION}
        leaderboard = (Column("hit_rate", "hit_rate"),)

        def num_outputs(self) -> int:
            return 1

        def targets(self, ds):
            return (self.labels(ds) == 0).astype(np.float32)

        def loss_from_outputs(self, outputs, targets):
            import torch.nn.functional as F

            return F.binary_cross_entropy_with_logits(outputs[:, 0].float(), targets.float())

        def predictions_from_outputs(self, outputs):
            return {"p": outputs.detach().float()[:, 0].sigmoid().cpu().numpy()}

        def val_metrics(self, preds, targets):
            return {"val_hit_rate": float(((preds["p"] > 0.5) == (targets > 0.5)).mean())}

        def evaluate(self, preds, ctx):
            from deeplense.plots.style import figure, save

            hits = (preds.outputs["p"] > 0.5) == (preds.truth > 0.5)
            fig, ax = figure()
            ax.scatter(preds.samples, preds.outputs["p"], c=preds.truth, cmap="viridis", label="test images")
            ax.set(xlabel="sample", ylabel="P(no substructure)", title=ctx.title)
            ax.legend()
            save(fig, ctx.figures / "hits.png")
            table = pd.DataFrame({"sample": preds.samples, "truth": preds.truth, "p": preds.outputs["p"]})
            return {"hit_rate": float(hits.mean()), "n_test": int(hits.size)}, table

    yield NoSubstructure
    TASKS.unregister("toy_no_sub")


def _config(small_cfg, **model) -> dict:
    raw = small_cfg.model_dump(mode="json")
    raw["models"] = {"toy": {"architecture": "resnet18", "dataset": "small", "task": "toy_no_sub", "epochs": 1, "batch_size": 8,
                             "shuffle_buffer_mb": 1, "loss": "toy_bce", "monitor": "val_hit_rate", **model}}
    return raw


def test_the_config_allows_the_toy_tasks_losses_and_monitors_only(toy_task, small_cfg):
    cfg = load_config(_config(small_cfg))
    assert cfg.models["toy"].task == "toy_no_sub" and cfg.models["toy"].loss_name == "toy_bce"
    with pytest.raises(ConfigError, match=r"monitor = 'val_auc': does not fit task toy_no_sub; allowed: val_hit_rate, val_loss"):
        load_config(_config(small_cfg, monitor="val_auc"))
    with pytest.raises(ConfigError, match=r"loss = 'mse': does not fit task toy_no_sub; allowed: toy_bce"):
        load_config(_config(small_cfg, loss="mse"))


def test_the_toy_task_trains_evaluates_and_reaches_leaderboard_and_captions(toy_task, small_cfg, small_store, tmp_path, saved_figures):
    cfg = load_config(_config(small_cfg))
    model = cfg.models["toy"]
    split = cfg.datasets["small"].split.model_dump(mode="json")
    out = train_model("toy", model, small_store, TrainOutputs.in_dir(tmp_path), seed=cfg.seed, split=split)
    history = pd.read_csv(out.history)
    assert 0 <= history["val_hit_rate"].iloc[0] <= 1  # the monitor the task declared, selecting the checkpoint
    assert json.loads(out.info.read_text())["monitor"] == {"val_hit_rate": history["val_hit_rate"].max()}

    metrics = evaluate_model("toy", out.checkpoint, small_store, EvalOutputs.in_dir(tmp_path), split=split, n_resamples=20)
    assert metrics.task == "toy_no_sub" and 0 <= metrics.values["hit_rate"] <= 1 and metrics.n_test > 0 and metrics.ci == {}
    assert saved_figures["hits.png"].axes[0].get_ylabel() == "P(no substructure)" and (tmp_path / "figures/hits.png").is_file()

    table = write_leaderboard([tmp_path / "metrics.json"], tmp_path / "lb.csv", tmp_path / "lb.html", tmp_path / "lb.md", tmp_path / "pub.csv")
    (row,) = table.to_dict("records")
    assert (row["task"], row["main_metric"], row["main_value"], row["hit_rate"]) == ("toy_no_sub", "hit_rate", metrics.values["hit_rate"], metrics.values["hit_rate"])

    assert figure_captions(cfg, "toy") == {"hits": CAPTION}
    assert "toy: architecture resnet18, task toy_no_sub, trained on small" in model_summary(cfg, "toy")
