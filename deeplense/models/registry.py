"""One way in to every architecture: ``create_model(name, in_chans=..., num_outputs=..., img_size=...)``.

Names registered with ``@register_architecture`` (deeplense's own networks) take precedence;
otherwise the name is looked up in timm's zoo. Weights never come from a hub: ``pretrained`` is a
local file, loaded by timm with its input-channel adaptation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import timm
import torch.nn as nn

from deeplense.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
register_architecture = ARCHITECTURES.register


def architecture_exists(name: str) -> bool:
    return name in ARCHITECTURES or timm.is_model(name)


def create_model(
    name: str, *, in_chans: int, num_outputs: int, img_size: int, pretrained: str | Path | None = None
) -> nn.Module:
    """Build architecture ``name`` for images of ``in_chans`` × ``img_size``² and ``num_outputs``."""
    if name in ARCHITECTURES:
        return ARCHITECTURES.get(name)(in_chans=in_chans, num_outputs=num_outputs, img_size=img_size, pretrained=pretrained)
    if not timm.is_model(name):
        raise KeyError(f"unknown architecture {name!r}: neither registered in deeplense nor a timm model")
    kwargs: dict = {"in_chans": in_chans, "num_classes": num_outputs}
    if pretrained is not None:
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(f"pretrained weights {path} do not exist (no hub downloads here)")
        kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    try:  # transformer-style models take the image size (positional embeddings, patch grid)
        return timm.create_model(name, img_size=img_size, **kwargs)
    except TypeError as e:
        if "img_size" not in str(e):
            raise
        return timm.create_model(name, **kwargs)
