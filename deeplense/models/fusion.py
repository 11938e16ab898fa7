"""Feature fusion: pooled features of several backbones, or of several depths of one backbone,
fused by concatenation, sum or learned softmax weights before a linear head.

Backbones are any names ``create_model`` knows, as feature extractors
(:mod:`deeplense.models.backbones`). With ``depths`` one timm backbone is built with ``features_only=True`` and each requested
level is average-pooled. For "sum" and "weighted" every feature vector is first projected linearly
to ``width``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import timm
import torch
import torch.nn as nn
from timm.layers import SelectAdaptivePool2d

from deeplense.models.backbones import backbone_features
from deeplense.models.registry import ARCHITECTURES, register_architecture

MODES = ("concat", "sum", "weighted")


class MultiDepth(nn.Module):
    """One timm backbone's feature maps at levels ``depths`` (timm ``out_indices``), each pooled."""

    def __init__(self, name: str, in_chans: int, depths: Sequence[int], **architecture_args: Any) -> None:
        super().__init__()
        self.body = timm.create_model(name, in_chans=in_chans, features_only=True, out_indices=tuple(depths), **architecture_args)
        self.pool = SelectAdaptivePool2d(pool_type="avg", flatten=True)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.pool(f) for f in self.body(x)]


class FeatureFusion(nn.Module):
    """Fuse the feature vectors of ``extractors`` (modules returning a vector or a list of them)."""

    def __init__(self, extractors: Sequence[nn.Module], dims: Sequence[int], num_outputs: int, mode: str, width: int, dropout: float) -> None:
        super().__init__()
        self.extractors = nn.ModuleList(extractors)
        self.mode = mode
        if mode == "concat":
            self.project = nn.ModuleList(nn.Identity() for _ in dims)
            fused = sum(dims)
        else:
            self.project = nn.ModuleList(nn.Linear(d, width) for d in dims)
            fused = width
        self.logits = nn.Parameter(torch.zeros(len(dims))) if mode == "weighted" else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(fused, num_outputs))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        for extractor in self.extractors:
            f = extractor(x)
            out.extend(f if isinstance(f, list) else [f])
        return [p(f) for p, f in zip(self.project, out, strict=True)]

    def weights(self) -> torch.Tensor | None:
        """The learned fusion weights (softmax, summing to one) in "weighted" mode."""
        return None if self.logits is None else self.logits.softmax(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        if self.mode == "concat":
            fused = torch.cat(features, dim=1)
        elif self.mode == "sum":
            fused = torch.stack(features).sum(0)
        else:
            fused = torch.einsum("n,nbc->bc", self.weights(), torch.stack(features))
        return self.head(fused)


def _feature_dims(extractors: Sequence[nn.Module], in_chans: int, img_size: int) -> list[int]:
    """Feature sizes, read from one forward pass of a blank image (robust to every backbone kind)."""
    dims = []
    with torch.no_grad():
        for extractor in extractors:
            extractor.eval()
            f = extractor(torch.zeros(1, in_chans, img_size, img_size))
            extractor.train()
            dims.extend(v.shape[1] for v in (f if isinstance(f, list) else [f]))
    return dims


@register_architecture("fusion")
def fusion(
    in_chans: int, num_outputs: int, img_size: int, backbones: Sequence[str] = ("resnet18", "efficientnet_b0"), mode: str = "concat",
    depths: Sequence[int] | None = None, width: int = 256, dropout: float = 0.0, backbone_args: dict[str, dict[str, Any]] | None = None,
) -> FeatureFusion:  # fmt: skip
    """``backbones`` (names), fused by ``mode``; ``depths`` (timm feature levels, e.g. [2, 3, 4]) fuses
    several depths of one backbone; ``backbone_args`` maps a backbone name to its own arguments."""
    if mode not in MODES:
        raise ValueError(f"fusion: mode must be one of {', '.join(MODES)}, not {mode!r}")
    backbone_args = backbone_args or {}
    unknown = sorted(set(backbone_args) - set(backbones))
    if unknown:
        raise ValueError(f"fusion: backbone_args names {unknown}, which are not among the backbones {list(backbones)}")
    if depths is not None:
        if len(backbones) != 1 or backbones[0] in ARCHITECTURES:
            raise ValueError(f"fusion: depths fuse levels of exactly one timm backbone, got backbones {list(backbones)}")
        extractors: list[nn.Module] = [MultiDepth(backbones[0], in_chans, depths, **backbone_args.get(backbones[0], {}))]
    else:
        if len(backbones) < 1:
            raise ValueError("fusion: at least one backbone is needed")
        extractors = [backbone_features(b, in_chans, img_size, **backbone_args.get(b, {})) for b in backbones]
    dims = _feature_dims(extractors, in_chans, img_size)
    return FeatureFusion(extractors, dims, num_outputs, mode, width, dropout)
