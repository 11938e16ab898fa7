"""The training loop on a real store, and evaluation of its checkpoint."""

import json

import numpy as np
import pandas as pd
import torch

from deeplense.config import ModelConfig
from deeplense.evaluation.evaluate import EvalOutputs, evaluate_model
from deeplense.training.trainer import TrainOutputs, load_checkpoint, train_model

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}


def test_train_then_evaluate(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=2, batch_size=8, shuffle_buffer_mb=1)
    out = train_model("r18", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=1, split=SPLIT, threads=1)
    history = pd.read_csv(out.history)
    assert list(history["epoch"]) == [0, 1] and np.isfinite(history[["train_loss", "val_loss"]].values).all()
    info = json.loads(out.info.read_text())
    assert info["dataset_hash"].startswith("sha256:") and info["classes"] == ["no_sub", "cdm", "vortex"]
    assert info["split_sizes"] == {"train": 18, "val": 9, "test": 9}
    assert info["config"]["architecture"] == "resnet18" and "torch" in info["software"]

    model, state = load_checkpoint(out.checkpoint)
    assert state["epoch"] == info["best_epoch"] and state["num_outputs"] == 3
    assert model(torch.zeros(1, 1, 24, 24)).shape == (1, 3)

    metrics = evaluate_model("r18", out.checkpoint, small_store, EvalOutputs.in_dir(tmp_path), split=SPLIT)
    assert metrics["n_test"] == 9 and set(metrics["class_counts"]) == {"no_sub", "cdm", "vortex"}
    assert 0 <= metrics["auc_macro"] <= 1 and 0 <= metrics["accuracy"] <= 1
    assert json.loads((tmp_path / "metrics.json").read_text())["dataset_hash"] == info["dataset_hash"]
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    np.testing.assert_allclose(predictions[["p_no_sub", "p_cdm", "p_vortex"]].sum(axis=1), 1.0, rtol=1e-5)
    assert (tmp_path / "roc.png").stat().st_size > 10_000 and (tmp_path / "confusion.png").stat().st_size > 10_000


def test_training_is_deterministic(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=8, shuffle_buffer_mb=1)
    a = train_model("a", cfg, small_store, TrainOutputs.in_dir(tmp_path / "a"), seed=3, split=SPLIT)
    b = train_model("b", cfg, small_store, TrainOutputs.in_dir(tmp_path / "b"), seed=3, split=SPLIT)
    sa = torch.load(a.checkpoint, weights_only=False)["model_state"]
    sb = torch.load(b.checkpoint, weights_only=False)["model_state"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
