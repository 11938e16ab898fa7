"""Checkpoints. ``checkpoint.pt``: the selected model with what evaluation needs (written once,
when training ends). ``train_state.pt``: everything to continue a run exactly (model, optimiser,
schedule, random-number states, history, best model), rewritten atomically after every epoch.
Both hold tensors and plain data only and load with ``torch.load(weights_only=True)``
(``deeplense.torch_io``): a checkpoint from someone else cannot run code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from deeplense.storage.provenance import CheckpointInfo
from deeplense.torch_io import UnsafeCheckpointError, load_plain, save_plain

TRAIN_STATE_NAME = "train_state.pt"


def save(state: dict[str, Any], path: str | Path) -> None:
    """Write ``state`` (tensors and plain data) atomically: a kill mid-write leaves the previous file."""
    save_plain(state, path)


def load_train_state(path: str | Path, fingerprint: str) -> dict[str, Any] | None:
    """The saved state of an interrupted run with the same ``fingerprint`` (config, dataset and
    seed), or None: a state from another config must never be continued."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = load_plain(path)
    except UnsafeCheckpointError as e:  # an older deeplense's state, or not ours: never unpickled
        print(f"{e}\ntraining from the start")
        return None
    if state.get("fingerprint") != fingerprint:
        print(f"{path}: saved by another config, dataset or seed; training from the start")
        return None
    return state


def rng_states() -> dict[str, Any]:
    """torch's random-number states (dropout, stochastic depth, VAE sampling draw from them)."""
    out: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, CheckpointInfo]:
    """Rebuild the model of a checkpoint, in eval mode, with its typed metadata (a checkpoint of
    another schema version is refused, naming the file)."""
    from deeplense.models.registry import create_model

    state = load_plain(path)
    info = CheckpointInfo.from_checkpoint(state, path)
    from deeplense.tasks import task_from_state

    backbone = create_model(info.architecture, in_chans=info.in_chans, num_outputs=info.num_outputs, img_size=info.img_size, **info.architecture_args)
    model = task_from_state(info.task_state).network(backbone)
    model.load_state_dict(state["model_state"])
    return model.eval(), info
