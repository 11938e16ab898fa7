"""One way in to every architecture: ``create_model(name, in_chans=..., num_outputs=..., img_size=...)``.

Names registered with ``@register_architecture`` (deeplense's own networks) take precedence;
otherwise the name is looked up in timm's zoo (fitted to the image size by
:mod:`deeplense.models.timm_zoo`). Weights never come from a hub: ``pretrained`` is a local file,
loaded by timm with its input-channel adaptation, or by :mod:`deeplense.models.pretrained` for
registered architectures.

A registered builder is a function ``(in_chans, num_outputs, img_size, **its own arguments)`` returning
an ``nn.Module``; ``architecture_args`` of the config are its keyword arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import timm
import torch.nn as nn

from deeplense.models.pretrained import load_local_weights
from deeplense.models.timm_zoo import create_timm_model
from deeplense.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
register_architecture = ARCHITECTURES.register

_COMMON = ("in_chans", "num_outputs", "img_size", "pretrained")


def architecture_exists(name: str) -> bool:
    return name in ARCHITECTURES or timm.is_model(name)


def architecture_arguments(name: str) -> list[str] | None:
    """The ``architecture_args`` a registered architecture takes (``None``: any, or not registered)."""
    if name not in ARCHITECTURES:
        return None
    params = inspect.signature(ARCHITECTURES.get(name)).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return sorted(p.name for p in params if p.name not in _COMMON)


def create_model(
    name: str,
    *,
    in_chans: int,
    num_outputs: int,
    img_size: int,
    pretrained: str | Path | None = None,
    **architecture_args: Any,
) -> nn.Module:
    """Build architecture ``name`` for images of ``in_chans`` × ``img_size``² and ``num_outputs``
    outputs, from scratch or fine-tuning from the local weights file ``pretrained``."""
    if pretrained is not None and not Path(pretrained).is_file():
        raise FileNotFoundError(f"pretrained weights {pretrained} do not exist (no hub downloads here)")
    if name in ARCHITECTURES:
        allowed = architecture_arguments(name)
        bad = [k for k in architecture_args if allowed is not None and k not in allowed]
        if bad:
            raise TypeError(f"architecture {name!r} does not take argument {bad[0]!r}; allowed: {', '.join(allowed) or 'none'}")
        model = ARCHITECTURES.get(name)(in_chans=in_chans, num_outputs=num_outputs, img_size=img_size, **architecture_args)
        return model if pretrained is None else load_local_weights(model, pretrained, name)
    if not timm.is_model(name):
        raise KeyError(f"unknown architecture {name!r}: neither registered in deeplense nor a timm model")
    return create_timm_model(name, in_chans=in_chans, num_outputs=num_outputs, img_size=img_size, pretrained=pretrained, **architecture_args)
