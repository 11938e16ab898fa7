"""The training loop on a real store, and evaluation of its checkpoint."""

import json

import numpy as np
import pytest
import pandas as pd
import torch

from deeplense.config import ModelConfig
from deeplense.evaluation.evaluate import EvalOutputs, evaluate_model
from deeplense.training.trainer import TrainOutputs, load_checkpoint, train_model
from tests.figures import axis_labels, legend_entries, saved_figures  # noqa: F401 (a fixture)

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}


def test_train_then_evaluate(small_store, tmp_path, saved_figures):
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=2, batch_size=8, shuffle_buffer_mb=1)
    out = train_model("r18", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=1, split=SPLIT)
    history = pd.read_csv(out.history)
    assert list(history["epoch"]) == [0, 1] and np.isfinite(history[["train_loss", "val_loss"]].values).all()
    info = json.loads(out.info.read_text())
    assert info["dataset_hash"].startswith("sha256:") and info["classes"] == ["no_sub", "cdm", "vortex"]
    assert info["split_sizes"] == {"train": 18, "val": 9, "test": 9}
    assert info["config"]["architecture"] == "resnet18" and "torch" in info["software"]

    model, state = load_checkpoint(out.checkpoint)
    assert state.epoch == info["best_epoch"] and state.num_outputs == 3 and info["schema_version"] == state.schema_version == 1
    assert model(torch.zeros(1, 1, 24, 24)).shape == (1, 3)

    metrics = evaluate_model("r18", out.checkpoint, small_store, EvalOutputs.in_dir(tmp_path), split=SPLIT)
    assert metrics.n_test == 9 and set(metrics.values["class_counts"]) == {"no_sub", "cdm", "vortex"}
    assert 0 <= metrics.values["auc_macro"] <= 1 and 0 <= metrics.values["accuracy"] <= 1
    assert json.loads((tmp_path / "metrics.json").read_text())["dataset_hash"] == info["dataset_hash"]
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    np.testing.assert_allclose(predictions[["p_no_sub", "p_cdm", "p_vortex"]].sum(axis=1), 1.0, rtol=1e-5)
    roc = saved_figures["roc.png"]
    assert legend_entries(roc) == [f"{c} (AUC {metrics.values['auc_per_class'][c]:.3f})" for c in ("no_sub", "cdm", "vortex")] + ["chance"]
    confusion = saved_figures["confusion.png"]
    counts = [t.get_text() for t in confusion.axes[0].texts]
    assert sum(map(int, counts)) == 9 and len(counts) == 9  # every test image in one of the 3×3 cells
    assert axis_labels(confusion)[:2] == [("predicted class", "true class")] * 2


@pytest.mark.determinism
def test_training_is_deterministic(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=8, shuffle_buffer_mb=1)
    a = train_model("a", cfg, small_store, TrainOutputs.in_dir(tmp_path / "a"), seed=3, split=SPLIT)
    b = train_model("b", cfg, small_store, TrainOutputs.in_dir(tmp_path / "b"), seed=3, split=SPLIT)
    sa = torch.load(a.checkpoint, weights_only=True)["model_state"]
    sb = torch.load(b.checkpoint, weights_only=True)["model_state"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_regression_with_uncertainty(small_store, tmp_path):
    """Regression of the vortex length on the vortex class: standardised targets from the training
    split, a mean and a variance head (Gaussian NLL), predictions back in physical units."""
    from deeplense.evaluation.predict import predict
    from deeplense.storage.dataset_store import open_dataset
    from deeplense.tasks import task_from_state

    cfg = ModelConfig(
        architecture="resnet18", dataset="small", task="regression", classes=["vortex"], targets=["vortex_length"],
        loss="gaussian_nll", epochs=2, batch_size=4, shuffle_buffer_mb=1, monitor="val_mae",
    )
    out = train_model("reg", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    model, state = load_checkpoint(out.checkpoint)
    task = task_from_state(state.task_state)
    ds = open_dataset(small_store)
    lengths = ds["vortex_length"].values
    train = np.flatnonzero(np.isfinite(lengths))  # the vortex class only
    info = json.loads(out.info.read_text())
    assert info["split_sizes"]["train"] + info["split_sizes"]["val"] + info["split_sizes"]["test"] == train.size
    assert state.num_outputs == 2 and task.target_names == ["vortex_length"]
    assert 0.1 < task.mean[0] < 5 and task.std[0] > 0  # vortex lengths in arcsec, not standardised units
    preds = predict(model, task, state.normalisation, small_store, train)
    assert preds.outputs["y_pred"].shape == (train.size, 1) and (preds.outputs["y_sigma"] > 0).all()
    np.testing.assert_array_equal(preds.truth[:, 0], lengths[train])
    assert "val_mae" in pd.read_csv(out.history).columns


def test_regression_rejects_unknown_target(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", task="regression", targets=["axion_mass"], epochs=1)
    with pytest.raises(KeyError, match="axion_mass.*available: .*vortex_length"):
        train_model("bad", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)


def test_classification_on_a_subset_of_classes(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", classes=["no_sub", "vortex"], epochs=1, batch_size=8, shuffle_buffer_mb=1)
    out = train_model("pair", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    _, state = load_checkpoint(out.checkpoint)
    assert state.num_outputs == 2 and state.task_state["model_classes"] == ["no_sub", "vortex"]
    assert json.loads(out.info.read_text())["split_sizes"] == {"train": 12, "val": 6, "test": 6}
    history = pd.read_csv(out.history)
    assert {"val_accuracy", "val_auc", "lr", "data_wait_fraction"} <= set(history.columns)
    assert any((tmp_path / "tensorboard").iterdir())  # TensorBoard event file


@pytest.mark.parametrize("optimizer,scheduler", [("sgd", "onecycle"), ("sam", "cyclic"), ("adamw", "plateau")])
def test_optimisers_and_schedules_train(small_store, tmp_path, optimizer, scheduler):
    cfg = ModelConfig(
        architecture="resnet18", dataset="small", epochs=2, batch_size=8, shuffle_buffer_mb=1, optimizer=optimizer,
        scheduler=scheduler, lr=0.01, noise_std=0.1,
    )
    out = train_model("opt", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    history = pd.read_csv(out.history)
    assert np.isfinite(history["train_loss"]).all() and len(history) == 2
    if scheduler == "onecycle":  # warms up from lr/25
        assert history["lr"][0] < 0.01 / 10


def test_early_stopping_stops_a_diverging_run(small_store, tmp_path):
    cfg = ModelConfig(
        architecture="resnet18", dataset="small", epochs=8, batch_size=8, shuffle_buffer_mb=1, optimizer="sgd",
        scheduler="constant", lr=50.0, early_stopping=1,
    )
    out = train_model("stop", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    info = json.loads(out.info.read_text())
    assert info["stopped_early"] and info["epochs_run"] < 8
    assert info["epochs_run"] == info["best_epoch"] + 2  # one epoch of patience after the best


def test_lr_range_test(small_store, tmp_path, saved_figures):
    from deeplense.training.lr_range import LRRange, lr_range_test, suggest_lr, write_lr_range

    cfg = ModelConfig(architecture="resnet18", dataset="small", batch_size=4, shuffle_buffer_mb=1)
    result = lr_range_test(cfg, small_store, seed=0, split=SPLIT, start_lr=1e-6, end_lr=10.0, steps=30)
    assert np.all(np.diff(result.lrs) > 0) and result.lrs[0] == pytest.approx(1e-6)
    assert len(result.lrs) <= 30 and result.losses[-1] > 2 * result.losses[0]  # stopped where it diverged
    # 18 tiny images: whether the smoothed loss falls by 10% first depends on the draw; the rule
    # itself is tested on known curves below
    assert result.suggestion == suggest_lr(result.lrs, result.losses)
    write_lr_range(result, tmp_path / "lr.png", tmp_path / "lr.csv", "test")
    assert len(pd.read_csv(tmp_path / "lr.csv")) == len(result.lrs)
    ax = saved_figures["lr.png"].axes[0]
    curve = ax.get_lines()[0]
    np.testing.assert_array_equal(curve.get_xdata(), result.lrs)
    assert ax.get_xscale() == "log"
    if result.suggestion is None:
        assert [t.get_text() for t in ax.texts] == ["no clear descent: no suggestion"]
    else:
        assert ax.get_lines()[1].get_xdata()[0] == result.suggestion and not ax.texts
    flat = LRRange(result.lrs, np.full(result.lrs.size, 1.1), None)  # the other case, drawn
    write_lr_range(flat, tmp_path / "flat.png", tmp_path / "flat.csv", "flat")
    assert [t.get_text() for t in saved_figures["flat.png"].axes[0].texts] == ["no clear descent: no suggestion"]


def test_lr_suggestion_needs_a_clear_descent():
    from deeplense.training.lr_range import LRRange, suggest_lr

    lrs = np.logspace(-7, 1, 50)
    falling = 2.0 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 3) * 3))  # drops by 75% around 1e-3
    assert suggest_lr(lrs, falling) == pytest.approx(1e-3, rel=0.5)
    flat = 1.0986 + 0.002 * np.sin(np.arange(50))  # noise around ln 3: nothing learnt
    assert suggest_lr(lrs, flat) is None
    assert "no clear descent" in LRRange(lrs, flat, None).summary()


def test_lr_suggestion_is_not_the_noise_of_the_first_batches():
    """The demo VAE's curve: the running mean of its first batches jumps by batch-to-batch noise at
    1e-7 (the steepest point of the raw curve), the real descent is around 1e-3."""
    from deeplense.training.lr_range import suggest_lr

    lrs = np.logspace(-7, 0, 100)
    falling = 1.12 - 0.4 / (1 + np.exp(-(np.log10(lrs) + 3) * 2))
    noisy_start = falling.copy()
    noisy_start[:4] += [0.0, 0.05, -0.05, 0.0]  # a few batches' scatter before any weight moves
    assert np.argmin(np.gradient(noisy_start, np.log(lrs))) < 4  # the plain steepest point is noise
    assert suggest_lr(lrs, noisy_start) == pytest.approx(1e-3, rel=1.0)
    diverging = np.concatenate([falling[:80], falling[79] * np.linspace(1, 6, 20)])
    assert 1e-4 < suggest_lr(lrs, diverging) < 1e-2  # never in the divergence after the minimum


def test_anomaly_autoencoder_trains_on_the_normal_class_only(small_store, tmp_path):
    from deeplense.evaluation.predict import predict
    from deeplense.storage.dataset_store import open_dataset
    from deeplense.tasks import task_from_state

    cfg = ModelConfig(
        architecture="conv_ae", architecture_args={"latent_dim": 8, "widths": [8, 16]}, dataset="small", task="anomaly",
        epochs=2, batch_size=4, shuffle_buffer_mb=1, augment=False,
    )
    out = train_model("ae", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    info = json.loads(out.info.read_text())
    assert info["split_sizes"] == {"train": 6, "val": 3, "test": 3}  # no_sub only
    history = pd.read_csv(out.history)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    model, state = load_checkpoint(out.checkpoint)
    task = task_from_state(state.task_state)
    ds = open_dataset(small_store)
    every = np.arange(ds.sizes["sample"])
    preds = predict(model, task, state.normalisation, small_store, task.eval_indices(ds, every))
    assert preds.outputs["score"].shape == (36,) and np.isfinite(preds.outputs["score"]).all()
    np.testing.assert_array_equal(preds.truth, (preds.labels != 0).astype(int))


def test_anomaly_task_needs_an_autoencoder(small_store, tmp_path):
    cfg = ModelConfig(architecture="resnet18", dataset="small", task="anomaly", epochs=1, batch_size=4, shuffle_buffer_mb=1)
    with pytest.raises(TypeError, match="needs an autoencoder.*conv_ae, vae, aae"):
        train_model("bad", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)


def test_a_last_batch_of_one_image_is_skipped(small_store, tmp_path):
    # 18 training images in batches of 17: the second batch holds one image
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=17, shuffle_buffer_mb=1)
    out = train_model("one", cfg, small_store, TrainOutputs.in_dir(tmp_path), seed=0, split=SPLIT)
    assert np.isfinite(pd.read_csv(out.history)["train_loss"]).all()


def test_checkpoint_last_keeps_the_final_epoch_and_best_keeps_the_best(small_store, tmp_path):
    """`checkpoint: best` keeps the epoch best on `monitor`; `last` the final epoch's weights."""
    base = ModelConfig(architecture="resnet18", dataset="small", epochs=3, batch_size=8, shuffle_buffer_mb=1, lr=0.05, scheduler="constant")
    runs = {kind: train_model(kind, base.model_copy(update={"checkpoint": kind}), small_store, TrainOutputs.in_dir(tmp_path / kind), seed=4, split=SPLIT)
            for kind in ("best", "last")}
    history = pd.read_csv(runs["best"].history)
    best_epoch = int(history["val_loss"].idxmin())
    kept = {kind: load_checkpoint(out.checkpoint) for kind, out in runs.items()}
    assert kept["best"][1].epoch == best_epoch and kept["last"][1].epoch == 2
    assert kept["last"][1].selected_by == "last epoch"
    final = torch.load(runs["last"].train_state, weights_only=True)["model_state"]
    weights = kept["last"][0].state_dict()
    assert all(torch.equal(final[k], weights[k]) for k in final)


def test_no_validation_split_needs_checkpoint_last(small_store, tmp_path):
    """Without validation images nothing is selected on training data: `best` fails, naming why;
    `last` trains and records no validation figure."""
    split = {"train": 0.75, "val": 0.0, "test": 0.25}
    cfg = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=4, shuffle_buffer_mb=1)
    with pytest.raises(ValueError, match=r"validation split .* holds no image .* checkpoint: best needs one"):
        train_model("v", cfg, small_store, TrainOutputs.in_dir(tmp_path / "best"), seed=0, split=split)
    out = train_model("v", cfg.model_copy(update={"checkpoint": "last"}), small_store, TrainOutputs.in_dir(tmp_path / "last"), seed=0, split=split)
    history = pd.read_csv(out.history)
    assert "val_loss" not in history or history["val_loss"].isna().all()
    assert load_checkpoint(out.checkpoint)[1].epoch == 0


def test_a_monitored_metric_that_validation_cannot_give_is_an_error():
    """val_auc is missing when the validation images lack a class or the model diverged: an
    error naming what validation gave, never a silent fall back to val_loss."""
    from deeplense.training.trainer import _select

    cfg = ModelConfig(architecture="resnet18", dataset="small", monitor="val_auc")
    best = {"value": None, "epoch": -1, "last_value": None, "model_state": None, "kept_epoch": -1}
    row = {"epoch": 0, "train_loss": 1.0, "val_loss": 1.1, "val_accuracy": 0.3}
    with pytest.raises(ValueError, match=r"model m: validation gave no val_auc at epoch 0 \(it gave val_accuracy, val_loss\)"):
        _select("m", cfg, row, best, torch.nn.Linear(1, 1), maximise=True)
    kept = _select("m", cfg, {**row, "val_auc": 0.7}, best, torch.nn.Linear(1, 1), maximise=True)
    assert kept["value"] == 0.7 and kept["kept_epoch"] == 0
