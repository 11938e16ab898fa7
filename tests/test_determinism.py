"""What is bit-identical on the CPU: a model trained and evaluated with the same config gives the
same weights, history and predictions whatever threads the job is granted (Snakemake's --cores)
and whatever the number of loader workers; torch's own thread count is the model's `threads`."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from deeplense import __version__
from deeplense.config import ModelConfig
from deeplense.training.trainer import TrainOutputs, train_model
from deeplense.workflow.specs import ModelSpec

pytestmark = pytest.mark.determinism

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
CFG = ModelConfig(architecture="resnet18", dataset="small", epochs=2, batch_size=4, shuffle_buffer_mb=1, noise_std=0.05, threads=2)


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, weights_only=True)["model_state"]


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _cli(job_threads: int, *args: str) -> None:
    """`deeplense --threads N ...` as a rule runs it when Snakemake grants the job N cores."""
    done = subprocess.run([sys.executable, "-m", "deeplense.cli", "--threads", str(job_threads), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_cores_granted_to_the_job_do_not_change_weights_or_predictions(small_store, tmp_path):
    spec = ModelSpec(version=__version__, model_name="m", model=CFG.training_dump(), seed=3, split=SPLIT).to_spec()
    for cores in (1, 2):
        out = tmp_path / f"cores{cores}"
        _cli(cores, "train", "--spec", spec, "--store", str(small_store), "--checkpoint", str(out / "checkpoint.pt"), "--history", str(out / "history.csv"),
             "--info", str(out / "train_info.json"), "--curves", str(out / "curves.png"))
        _cli(cores, "evaluate", "--spec", spec, "--checkpoint", str(out / "checkpoint.pt"), "--store", str(small_store), "--metrics", str(out / "metrics.json"),
             "--predictions", str(out / "predictions.csv"), "--figures", str(out / "figures"), "--resamples", "50")
    one, two = tmp_path / "cores1", tmp_path / "cores2"
    assert _same_weights(one / "checkpoint.pt", two / "checkpoint.pt")
    assert (one / "history.csv").read_text().splitlines()[0] == (two / "history.csv").read_text().splitlines()[0]
    cols = ["epoch", "train_loss", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(pd.read_csv(one / "history.csv")[cols], pd.read_csv(two / "history.csv")[cols], check_exact=True)
    assert (one / "predictions.csv").read_bytes() == (two / "predictions.csv").read_bytes()
    assert json.loads((one / "train_info.json").read_text())["threads"] == 2


def test_loader_workers_do_not_change_weights(small_store, tmp_path):
    runs = {}
    for workers in (0, 2):
        cfg = CFG.model_copy(update={"num_workers": workers, "augment": True, "epochs": 1})  # workers start anew each epoch
        runs[workers] = train_model("w", cfg, small_store, TrainOutputs.in_dir(tmp_path / f"w{workers}"), seed=3, split=SPLIT)
    assert _same_weights(runs[0].checkpoint, runs[2].checkpoint)
    pd.testing.assert_frame_equal(
        pd.read_csv(runs[0].history)[["train_loss", "val_loss"]], pd.read_csv(runs[2].history)[["train_loss", "val_loss"]], check_exact=True
    )


def test_threads_name_the_model_and_workers_do_not():
    """The thread count changes CPU results, so it is in the config hash; loader workers are not."""
    base = CFG.config_hash(3, SPLIT)
    assert CFG.model_copy(update={"threads": 1}).config_hash(3, SPLIT) != base
    assert CFG.model_copy(update={"num_workers": 3}).config_hash(3, SPLIT) == base
