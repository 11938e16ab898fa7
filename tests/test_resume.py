"""A training run killed mid-way and resumed with --resume ends with the same weights, history and
selected checkpoint as a run that was never interrupted (CPU, deterministic algorithms)."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import torch

from deeplense import __version__
from deeplense.config import ModelConfig
from deeplense.pause_points import MARKER_VARIABLE, PAUSE_VARIABLE
from deeplense.training.trainer import TrainOutputs, train_model
from deeplense.workflow.specs import ModelSpec

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
CFG = ModelConfig(architecture="resnet18", architecture_args={"drop_rate": 0.3}, dataset="small", epochs=4, batch_size=4, shuffle_buffer_mb=1, noise_std=0.05, scheduler="onecycle")


def _train_command(spec, store, out, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "deeplense.cli", "--threads", "1", "train", "--spec", spec, "--store", str(store)]
    cmd += ["--checkpoint", str(out / "checkpoint.pt"), "--history", str(out / "history.csv"), "--info", str(out / "train_info.json")]
    cmd += ["--tensorboard", str(out / "tensorboard"), "--curves", str(out / "curves.png")]
    return cmd + (["--resume"] if resume else [])


def test_killed_run_resumes_to_identical_weights(small_store, tmp_path):
    reference = train_model("ref", CFG, small_store, TrainOutputs.in_dir(tmp_path / "ref"), seed=5, split=SPLIT)

    out = tmp_path / "killed"
    spec = ModelSpec(version=__version__, model_name="ref", model=CFG.model_dump(mode="json"), seed=5, split=SPLIT).to_spec()
    marker = tmp_path / "paused"  # the run waits there, after saving its first epoch, to be killed
    env = {**os.environ, PAUSE_VARIABLE: "train.epoch_saved", MARKER_VARIABLE: str(marker)}
    proc = subprocess.Popen(_train_command(spec, small_store, out, resume=True), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # as a cluster's OOM killer or time limit would
    proc.wait()
    state_file = out / "train_state.pt"
    assert torch.load(state_file, weights_only=True)["epoch"] == 0 and not (out / "checkpoint.pt").exists()

    done = subprocess.run(_train_command(spec, small_store, out, resume=True), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming ref after epoch" in done.stdout

    a = torch.load(reference.checkpoint, weights_only=True)
    b = torch.load(out / "checkpoint.pt", weights_only=True)
    assert a["epoch"] == b["epoch"]
    assert all(torch.equal(a["model_state"][k], b["model_state"][k]) for k in a["model_state"])
    ha, hb = pd.read_csv(reference.history), pd.read_csv(out / "history.csv")
    cols = ["epoch", "train_loss", "val_loss", "val_accuracy", "lr"]
    pd.testing.assert_frame_equal(ha[cols], hb[cols])
    last_a = torch.load(reference.train_state, weights_only=True)["model_state"]
    last_b = torch.load(state_file, weights_only=True)["model_state"]
    assert all(torch.equal(last_a[k], last_b[k]) for k in last_a)


def test_resume_ignores_the_state_of_another_config(small_store, tmp_path, capsys):
    out = TrainOutputs.in_dir(tmp_path)
    train_model("a", CFG.model_copy(update={"epochs": 1}), small_store, out, seed=5, split=SPLIT)
    first = torch.load(out.checkpoint, weights_only=True)["model_state"]
    other = CFG.model_copy(update={"epochs": 1, "lr": 0.01})
    train_model("a", other, small_store, out, seed=5, split=SPLIT, resume=True)
    assert "saved by another config" in capsys.readouterr().out
    second = torch.load(out.checkpoint, weights_only=True)["model_state"]
    assert not all(torch.equal(first[k], second[k]) for k in first)  # retrained, not continued
