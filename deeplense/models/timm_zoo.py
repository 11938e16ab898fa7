"""timm's zoo at the dataset's image size: patch sizes, window sizes and input resizing chosen per family.

timm builds every model for ImageNet's 224 px. Lensing images are 64 or 150 px, so:

* ViT-style models (ViT, DeiT, DeiT-III, ConViT, CaiT) get ``img_size`` and a patch size that divides
  the image into at most 15 tokens per side (64 → patch 8, 8×8 tokens; 150 → patch 10, 15×15;
  224 → patch 16, timm's own choice);
* Swin gets ``img_size``, the same patch rule but at most 16 tokens per side (64 → patch 4, 16×16;
  150 → patch 10, 15×15) and ``window_size`` = half the token grid, rounded up (timm pads
  partial windows and odd patch-merging inputs);
* other models that take ``img_size`` (VOLO, CoaT, LeViT, CoAtNet/MaxViT) get it as is;
* models that cannot take the size at all are wrapped in :class:`ResizeInput`, which resizes the
  image bilinearly to the nearest size they accept: CoAtNet/MaxViT need multiples of 32 (150 → 160),
  LeViT multiples of 16 (150 → 144), Inception-v3 and Inception-ResNet-v2 at least 75 px (64 → 75).

Every automatic choice is overridden by the same key in ``architecture_args`` (e.g. ``patch_size: 4``).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F

# Families with a ViT patch embedding whose patch size is free (name prefixes).
VIT_PATCH_FAMILIES = ("vit_", "deit_", "deit3_", "convit_", "cait_")
SWIN_FAMILIES = ("swin_",)
# Families whose feature-map sizes are fixed at construction and need the image to be a multiple.
SIZE_MULTIPLE = {"coatnet_": 32, "coatnext_": 32, "maxvit_": 32, "maxxvit_": 32, "levit_": 16}
# Families whose stem reduces small images to nothing: the smallest side they accept.
MIN_SIZE = {"inception_v3": 75, "inception_resnet_v2": 75, "inception_v4": 75}


class ResizeInput(nn.Module):
    """Resize images bilinearly to ``size`` before ``model``: for architectures that cannot be built
    for the dataset's image size (see the module docstring for which and why)."""

    def __init__(self, model: nn.Module, size: int) -> None:
        super().__init__()
        self.model = model
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.model(x)


def patch_size_for(img_size: int, max_tokens: int = 15) -> int:
    """The smallest patch dividing ``img_size`` into at most ``max_tokens`` per side; when no divisor
    gives at least 4 tokens (prime-ish sizes), ``ceil(img_size / max_tokens)`` (the last partial patch
    is dropped by the strided patch convolution)."""
    for p in range(1, img_size + 1):
        if img_size % p == 0 and img_size // p <= max_tokens:
            if img_size // p >= 4:
                return p
            break
    return math.ceil(img_size / max_tokens)


def _family(name: str, table: dict[str, int]) -> int | None:
    return next((v for prefix, v in table.items() if name.startswith(prefix)), None)


def size_arguments(name: str, img_size: int) -> tuple[dict[str, Any], int | None]:
    """timm keyword arguments fitting ``name`` to ``img_size``, and the size to resize inputs to
    (``None`` when the model takes the images as they are)."""
    minimum = _family(name, MIN_SIZE)
    if minimum is not None:
        return {}, max(img_size, minimum)
    multiple = _family(name, SIZE_MULTIPLE)
    if multiple is not None:
        size = max(multiple, multiple * round(img_size / multiple))
        return {"img_size": size}, (None if size == img_size else size)
    if name.startswith(VIT_PATCH_FAMILIES):
        return {"img_size": img_size, "patch_size": patch_size_for(img_size)}, None
    if name.startswith(SWIN_FAMILIES):
        patch = patch_size_for(img_size, max_tokens=16)
        return {"img_size": img_size, "patch_size": patch, "window_size": math.ceil(img_size // patch / 2)}, None
    return {"img_size": img_size}, None  # dropped again below for models without an image size


def _model_class_parameters(error: TypeError) -> list[str] | None:
    """The keyword arguments of the timm class whose construction raised ``error``."""
    tb = error.__traceback__
    while tb is not None:
        cls = tb.tb_frame.f_locals.get("model_cls")
        if isinstance(cls, type):
            return sorted(p for p in inspect.signature(cls).parameters if p not in ("self", "kwargs", "args"))
        tb = tb.tb_next
    return None


def create_timm_model(
    name: str, *, in_chans: int, num_outputs: int, img_size: int, pretrained: str | Path | None = None, **architecture_args: Any
) -> nn.Module:
    """timm model ``name`` for ``in_chans`` × ``img_size``² images and ``num_outputs`` outputs, from
    scratch or from a local weights file (timm adapts the first convolution to ``in_chans``)."""
    auto, resize_to = size_arguments(name, img_size)
    kwargs: dict[str, Any] = {**auto, **architecture_args, "in_chans": in_chans, "num_classes": num_outputs}
    if pretrained is not None:
        kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(pretrained)})
    try:
        model = _build(name, kwargs, drop_img_size="img_size" in auto and "img_size" not in architecture_args)
    except TypeError as e:
        bad = [k for k in architecture_args if f"'{k}'" in str(e)]
        if "unexpected keyword argument" not in str(e) or not bad:
            raise
        allowed = _model_class_parameters(e)
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        raise TypeError(f"architecture {name!r} (timm) does not take argument {bad[0]!r}{hint}") from e
    return ResizeInput(model, resize_to) if resize_to is not None else model


def _build(name: str, kwargs: dict[str, Any], drop_img_size: bool) -> nn.Module:
    try:
        return timm.create_model(name, **kwargs)
    except TypeError as e:
        if not (drop_img_size and "'img_size'" in str(e)):
            raise
    kwargs = {k: v for k, v in kwargs.items() if k != "img_size"}  # convolutional: any size works
    return timm.create_model(name, **kwargs)
