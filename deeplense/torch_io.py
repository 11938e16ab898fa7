"""Checkpoint files that cannot run code: tensors and plain data (str, int, float, bool, None,
lists, tuples and dicts of them) written with ``torch.save`` and read only with
``torch.load(weights_only=True)``. A pickle that holds anything else, such as a crafted object
whose unpickling runs a command, is refused with an error naming the file."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deeplense.errors import DeeplenseError
from deeplense.atomic import atomic_path

_SCALARS = (str, int, float, bool, type(None))


class UnsafeCheckpointError(DeeplenseError):
    """A weights file that does not load as tensors and plain data; the message names it."""


def plain(obj: Any, where: str = "state") -> Any:
    """``obj`` with numpy scalars and arrays turned into Python numbers and tensors; anything else
    that is not a tensor or plain data is an error naming where it sits."""
    if isinstance(obj, np.generic):  # first: numpy's float64 is also a Python float
        return obj.item()
    if isinstance(obj, (torch.Tensor, *_SCALARS)):
        return obj
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str | int):
                raise TypeError(f"{where}: key {key!r} ({type(key).__name__}) cannot be stored in a checkpoint; keys are str or int")
        return {key: plain(value, f"{where}[{key!r}]") for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(plain(value, f"{where}[{i}]") for i, value in enumerate(obj))
    raise TypeError(f"{where}: a {type(obj).__name__} cannot be stored in a checkpoint (tensors and plain data only)")


def save_plain(state: dict[str, Any], path: str | Path) -> None:
    """Write ``state`` (made plain) atomically: a kill mid-write leaves the previous file."""
    state = plain(state)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_plain(path: str | Path) -> Any:
    """Read a file written by ``save_plain`` (or any tensors-and-plain-data pickle), never
    unpickling other objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        reason = _unpickling_reason(str(e))
        raise UnsafeCheckpointError(
            f"{path}: refused to load: it holds Python objects besides tensors and plain data, and unpickling "
            f"them could run arbitrary code ({reason}). deeplense loads weights files only with "
            f"torch.load(weights_only=True); save a plain state dict (torch.save(model.state_dict(), path)) with code you trust."
        ) from None


def _unpickling_reason(message: str) -> str:
    """The line of torch's long weights-only message that names the refused object."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line:
            return line.removeprefix("WeightsUnpickler error:").strip().split(". Please use")[0]
    return lines[0] if lines else "not a plain-data pickle"
