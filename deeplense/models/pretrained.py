"""Local weights for deeplense-registered architectures (timm models load through timm itself).

Rule: every tensor whose name and shape match the model is loaded; an input convolution that differs
only in its input channels is adapted with timm's rule (``adapt_input_conv``: summed to one channel,
or repeated and rescaled for more); any other shape mismatch (the head, sized by the task's outputs)
keeps its fresh initialisation and is named in a warning. Names present on one side only are an
error: the file is for a different architecture.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn as nn
from timm.models import adapt_input_conv

from deeplense.torch_io import load_plain


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``: a bare state dict, or a deeplense checkpoint's ``model_state``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights {path} do not exist (no hub downloads here)")
    state = load_plain(path)
    if isinstance(state, dict) and "model_state" in state:
        state = state["model_state"]
    if not isinstance(state, dict):
        raise ValueError(f"pretrained weights {path}: expected a state dict, found {type(state).__name__}")
    return state


def load_local_weights(model: nn.Module, path: str | Path, architecture: str) -> nn.Module:
    """Load ``path`` into ``model`` (built as ``architecture``) following the module's rule."""
    source = read_state_dict(path)
    target = model.state_dict()
    missing = sorted(set(target) - set(source))
    unexpected = sorted(set(source) - set(target))
    if missing or unexpected:
        raise ValueError(
            f"pretrained weights {path} do not fit architecture {architecture!r}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    loaded, skipped = {}, []
    for key, value in source.items():
        want = target[key].shape
        if value.shape == want:
            loaded[key] = value
        elif value.ndim == 4 and value.shape[0] == want[0] and value.shape[2:] == want[2:]:
            loaded[key] = adapt_input_conv(want[1], value)  # first convolution, other channel count
        else:
            skipped.append(f"{key} {tuple(value.shape)} -> {tuple(want)}")
    if skipped:
        warnings.warn(
            f"pretrained weights {path}: {len(skipped)} tensors of {architecture!r} keep their fresh "
            f"initialisation (shape differs, e.g. the output head): {'; '.join(skipped)}",
            stacklevel=3,
        )
    model.load_state_dict({**target, **loaded})
    return model
