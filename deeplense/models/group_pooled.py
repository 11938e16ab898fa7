"""Exactly invariant logits from any backbone: the backbone sees every image of the input's C4 or D4
orbit (``torch.rot90`` / ``torch.flip``, exact on the pixel grid), and the head sees the mean of
their feature vectors (test-time augmentation built into the network, as in Laptev et al. 2016,
"TI-Pooling", and the group averaging of Cohen & Welling 2016).

A rotation or flip of the input permutes the orbit, so the mean, and hence every output, is the
same up to the order of a floating-point sum. The cost is |G| = 4 or 8 backbone passes per image.
Batch norm in training mode sees the whole orbit as one batch, whose statistics a symmetry of the
input does not change either.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from deeplense.models.arguments import check_choice
from deeplense.models.backbones import backbone_features, feature_size
from deeplense.models.group_actions import PixelGroup
from deeplense.models.registry import register_architecture

GROUP_NAMES = ("C4", "D4")


class GroupPooled(nn.Module):
    """``features`` evaluated on the orbit of the input under ``group``, mean-pooled, then a linear head."""

    def __init__(self, features: nn.Module, dim: int, num_outputs: int, group: str, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = features
        self.group = PixelGroup.named(group)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, num_outputs))

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """The orbit-averaged feature vectors (n, dim): invariant under the group."""
        f = self.features(self.group.orbit(x))
        return f.reshape(self.group.order, x.shape[0], -1).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled_features(x))


@register_architecture("group_pooled")
def group_pooled(
    in_chans: int, num_outputs: int, img_size: int, backbone: str = "resnet18", group: str = "D4",
    backbone_args: dict[str, Any] | None = None, dropout: float = 0.0,
) -> GroupPooled:  # fmt: skip
    """``backbone`` (a timm or registered name, with ``backbone_args``) averaged over the C4 or D4
    orbit of each image: logits exactly invariant to 90° rotations (and flips for D4)."""
    check_choice("group_pooled", "group", group, GROUP_NAMES)
    features = backbone_features(backbone, in_chans, img_size, **(backbone_args or {}))
    return GroupPooled(features, feature_size(features, in_chans, img_size), num_outputs, group, dropout)
