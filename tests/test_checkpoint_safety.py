"""Checkpoints hold tensors and plain data only and are read with torch.load(weights_only=True): a
crafted pickle is refused, naming the file, and its code never runs."""

import os

import numpy as np
import pytest
import torch

from deeplense.models.pretrained import read_state_dict
from deeplense.torch_io import UnsafeCheckpointError, load_plain, plain, save_plain
from deeplense.training.checkpoints import load_checkpoint, load_train_state


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def crafted(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"architecture": "resnet18", "model_state": {"w": torch.zeros(2)}, "extra": Payload(marker)}, path)
    return path, marker


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(crafted, capsys):
    path, marker = crafted
    for load in (load_checkpoint, read_state_dict, load_plain):
        with pytest.raises(UnsafeCheckpointError, match=f"{path}: refused to load"):
            load(path)
    assert load_train_state(path, "any") is None  # an interrupted run's state: retrain instead
    assert "training from the start" in capsys.readouterr().out
    assert not marker.exists()


def test_plain_data_round_trips_and_numpy_becomes_python(tmp_path):
    state = {"epoch": np.int64(3), "value": np.float32(0.5), "stats": {"mean": [np.float64(1.5)]}, "t": torch.ones(2), "arr": np.arange(3), "betas": (0.9, 0.99), "none": None}
    save_plain(state, tmp_path / "s.pt")
    back = torch.load(tmp_path / "s.pt", weights_only=True)
    assert back["epoch"] == 3 and type(back["epoch"]) is int and type(back["value"]) is float and back["stats"]["mean"] == [1.5]
    assert torch.equal(back["arr"], torch.arange(3)) and back["betas"] == (0.9, 0.99) and back["none"] is None


def test_objects_that_are_not_plain_data_are_not_saved(tmp_path):
    with pytest.raises(TypeError, match=r"state\['history'\]\[0\]\['when'\]: a Payload cannot be stored"):
        plain({"history": [{"when": Payload("x")}]})
    with pytest.raises(TypeError, match="keys are str or int"):
        save_plain({(1, 2): 3}, tmp_path / "s.pt")
    assert not (tmp_path / "s.pt").exists()


def test_the_command_line_refuses_it_without_a_traceback(crafted, small_store, tmp_path):
    import json
    import subprocess
    import sys

    path, marker = crafted
    from deeplense import __version__
    from deeplense.workflow.specs import ModelSpec

    model = {"architecture": "resnet18", "dataset": "small"}
    spec = ModelSpec(version=__version__, model_name="m", model=model, seed=0, split={"train": 0.5, "val": 0.25, "test": 0.25}).to_spec()
    out = subprocess.run(
        [sys.executable, "-m", "deeplense", "evaluate", "--spec", spec, "--checkpoint", str(path), "--store", str(small_store), "--metrics", str(tmp_path / "m.json"),
         "--predictions", str(tmp_path / "p.csv"), "--figures", str(tmp_path / "f")],
        capture_output=True, text=True,
    )
    assert out.returncode == 2 and f"deeplense evaluate: {path}: refused to load" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists() and not (tmp_path / "m.json").exists()
