"""MogaNet, the Multi-order Gated Aggregation Network (Li et al., "MogaNet: Multi-order Gated
Aggregation Network", ICLR 2024, arXiv:2211.03295; github.com/Westlake-AI/MogaNet), in its X-Tiny
and Tiny sizes, written with timm's layers because timm has no MogaNet.

A four-stage convolutional network (total stride 32, so any image size ≥ 32 px works; 150 → 5×5):
a stem of two stride-2 3×3 convolutions (the second stage onwards: one), then MogaBlocks. Each block
is a spatial aggregation (1×1 projection with feature decomposition x + σ(x − GAP(x)), then a SiLU
gate times a multi-order value: a 5×5 depthwise convolution followed by dilated 5×5 (d=2) and 7×7
(d=3) depthwise convolutions on 3/8 and 4/8 of the channels) and a channel-aggregation FFN (1×1,
3×3 depthwise, GELU, decomposition against a 1-channel projection, 1×1), each with batch norm in
front and a layer scale, as in the reference implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, trunc_normal_

from deeplense.models.arguments import check_choice
from deeplense.models.registry import register_architecture

# The published sizes: stage widths, depths and FFN ratios (MogaNet paper, Table A1).
SIZES = {
    "xtiny": {"widths": (32, 64, 96, 192), "depths": (3, 3, 10, 2), "ffn_ratios": (8, 8, 4, 4)},
    "tiny": {"widths": (32, 64, 128, 256), "depths": (3, 3, 12, 2), "ffn_ratios": (8, 8, 4, 4)},
}
CHANNEL_SPLIT = (1, 3, 4)  # share of channels of the order-1, -2 and -3 depthwise convolutions
DILATIONS = (1, 2, 3)


class ElementScale(nn.Module):
    """A learnable per-channel scale (layer scale and the decomposition weight σ)."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1, channels, 1, 1), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class MultiOrderDWConv(nn.Module):
    """Depthwise 5×5 on all channels, then dilated depthwise 5×5 and 7×7 on two channel groups, mixed by 1×1."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.split = (dim * CHANNEL_SPLIT[0] // sum(CHANNEL_SPLIT), dim * CHANNEL_SPLIT[1] // sum(CHANNEL_SPLIT))
        order2, order3 = self.split[1], dim - sum(self.split)
        self.dw0 = nn.Conv2d(dim, dim, 5, padding=2 * DILATIONS[0], dilation=DILATIONS[0], groups=dim)
        self.dw1 = nn.Conv2d(order2, order2, 5, padding=2 * DILATIONS[1], dilation=DILATIONS[1], groups=order2)
        self.dw2 = nn.Conv2d(order3, order3, 7, padding=3 * DILATIONS[2], dilation=DILATIONS[2], groups=order3)
        self.pw = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw0(x)
        a, b = self.split
        x = torch.cat([x[:, :a], self.dw1(x[:, a : a + b]), self.dw2(x[:, a + b :])], dim=1)
        return self.pw(x)


class MultiOrderGatedAggregation(nn.Module):
    """Spatial aggregation: feature decomposition, SiLU(gate) · SiLU(multi-order value), 1×1 out, residual."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.sigma = ElementScale(dim, 1e-5)
        self.gate = nn.Conv2d(dim, dim, 1)
        self.value = MultiOrderDWConv(dim)
        self.proj_out = nn.Conv2d(dim, dim, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.proj_in(x)
        x = self.act(x + self.sigma(x - F.adaptive_avg_pool2d(x, 1)))
        return self.proj_out(self.act(self.gate(x)) * self.act(self.value(x))) + shortcut


class ChannelAggregationFFN(nn.Module):
    """1×1 up, 3×3 depthwise, GELU, channel decomposition x + σ(x − GELU(1×1 → 1 channel)), 1×1 down."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.decompose = nn.Conv2d(hidden, 1, 1)
        self.sigma = ElementScale(hidden, 1e-5)
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.dw(self.fc1(x))))
        x = x + self.sigma(x - self.act(self.decompose(x)))
        return self.drop(self.fc2(x))


class MogaBlock(nn.Module):
    """Pre-norm (batch norm) spatial aggregation and channel-aggregation FFN, each layer-scaled and residual."""

    def __init__(self, dim: int, ffn_ratio: float, drop_path: float = 0.0, dropout: float = 0.0, init_value: float = 1e-5) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.BatchNorm2d(dim), nn.BatchNorm2d(dim)
        self.attn = MultiOrderGatedAggregation(dim)
        self.mlp = ChannelAggregationFFN(dim, int(dim * ffn_ratio), dropout)
        self.scale1, self.scale2 = ElementScale(dim, init_value), ElementScale(dim, init_value)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.scale1(self.attn(self.norm1(x))))
        return x + self.drop_path(self.scale2(self.mlp(self.norm2(x))))


def _embed(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out))


class MogaNet(nn.Module):
    """Stem, four stages of MogaBlocks (each after a stride-2 embedding and ending in batch norm),
    global average pooling and a linear head."""

    def __init__(
        self, in_chans: int, num_outputs: int, widths: Sequence[int], depths: Sequence[int], ffn_ratios: Sequence[float],
        drop_path: float = 0.0, dropout: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()
        stem = nn.Sequential(
            nn.Conv2d(in_chans, widths[0] // 2, 3, stride=2, padding=1), nn.BatchNorm2d(widths[0] // 2), nn.GELU(), _embed(widths[0] // 2, widths[0])
        )
        self.stages = nn.ModuleList()
        for i, (width, depth, ratio) in enumerate(zip(widths, depths, ffn_ratios, strict=True)):
            first = sum(depths[:i])
            blocks = [MogaBlock(width, ratio, rates[first + j], dropout) for j in range(depth)]
            self.stages.append(nn.Sequential(stem if i == 0 else _embed(widths[i - 1], width), *blocks, nn.BatchNorm2d(width)))
        self.head = nn.Linear(widths[-1], num_outputs)
        self.apply(_init)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's pooled features (n, widths[-1])."""
        for stage in self.stages:
            x = stage(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def _init(m: nn.Module) -> None:
    """The reference initialisation: truncated normal for linear layers, fan-out normal for convolutions."""
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        if m.bias is not None:
            nn.init.zeros_(m.bias)


@register_architecture("moganet")
def moganet(in_chans: int, num_outputs: int, img_size: int, size: str = "xtiny", drop_path: float = 0.0, dropout: float = 0.0) -> MogaNet:
    """MogaNet of ``size`` xtiny (2.96 M parameters at 1000 classes; the paper rounds to 2.97) or tiny (5.20 M)."""
    check_choice("moganet", "size", size, SIZES)
    return MogaNet(in_chans, num_outputs, **SIZES[size], drop_path=drop_path, dropout=dropout)


def _named(size: str):
    def build(in_chans: int, num_outputs: int, img_size: int, drop_path: float = 0.0, dropout: float = 0.0) -> MogaNet:
        return moganet(in_chans, num_outputs, img_size, size=size, drop_path=drop_path, dropout=dropout)

    build.__doc__ = f"MogaNet-{size.upper() if size == 'xtiny' else 'T'} (``moganet`` with size {size})."
    return build


for _size in SIZES:
    register_architecture(f"moganet_{_size}")(_named(_size))
