"""CvT, the Convolutional vision Transformer (Wu et al. 2021), written here because timm has none;
CvT-13 is one of the axion-mass regression models of the DeepLense studies (test MAE 0.278 on Model I).

Three stages, each a convolutional token embedding (overlapping strided convolution + LayerNorm)
followed by transformer blocks whose queries, keys and values are projected by depthwise 3×3
convolutions with batch norm (keys and values with stride 2, which shortens the sequence they attend
over) before the usual linear projections. As in CvT-13 a class token joins in the last stage and the
head reads it. Building blocks (MLP, DropPath, initialisation) are timm's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, trunc_normal_

from deeplense.models.registry import register_architecture

# CvT-13: (kernel, stride, padding) of each stage's token embedding.
EMBEDDINGS = ((7, 4, 2), (3, 2, 1), (3, 2, 1))


def _conv_projection(dim: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(dim, dim, 3, stride=stride, padding=1, groups=dim, bias=False), nn.BatchNorm2d(dim))


class ConvAttention(nn.Module):
    """Multi-head attention over a token map whose q/k/v come from depthwise convolutions."""

    def __init__(self, dim: int, heads: int, with_cls: bool) -> None:
        super().__init__()
        self.heads, self.with_cls = heads, with_cls
        self.conv_q, self.conv_k, self.conv_v = _conv_projection(dim, 1), _conv_projection(dim, 2), _conv_projection(dim, 2)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        cls, tokens = (x[:, :1], x[:, 1:]) if self.with_cls else (None, x)
        grid = tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)

        def project(conv: nn.Module, linear: nn.Linear) -> torch.Tensor:
            seq = conv(grid).flatten(2).transpose(1, 2)
            seq = torch.cat([cls, seq], dim=1) if cls is not None else seq
            return linear(seq).unflatten(-1, (self.heads, -1)).transpose(1, 2)

        q, k, v = project(self.conv_q, self.q), project(self.conv_k, self.k), project(self.conv_v, self.v)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        return self.proj(out)


class CvTBlock(nn.Module):
    """Pre-norm transformer block with convolutional attention."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, drop_path: float, with_cls: bool) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = ConvAttention(dim, heads, with_cls)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class CvT(nn.Module):
    """Three-stage CvT with widths ``dims``, blocks ``depths`` and ``heads`` per stage."""

    def __init__(
        self, in_chans: int, num_outputs: int, dims: Sequence[int] = (64, 192, 384), depths: Sequence[int] = (1, 2, 10),
        heads: Sequence[int] = (1, 3, 6), mlp_ratio: float = 4.0, drop_path: float = 0.1,
    ) -> None:  # fmt: skip
        super().__init__()
        if not len(dims) == len(depths) == len(heads) == len(EMBEDDINGS):
            raise ValueError(f"cvt: dims, depths and heads need {len(EMBEDDINGS)} entries each (got {list(dims)}, {list(depths)}, {list(heads)})")
        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        chans = [in_chans, *dims]
        self.embeds = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], k, stride=s, padding=p) for i, (k, s, p) in enumerate(EMBEDDINGS))
        self.embed_norms = nn.ModuleList(nn.LayerNorm(d) for d in dims)
        self.stages = nn.ModuleList(
            nn.ModuleList(
                CvTBlock(dims[i], heads[i], mlp_ratio, rates[sum(depths[:i]) + j], with_cls=i == len(dims) - 1) for j in range(depths[i])
            )
            for i in range(len(dims))
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims[-1]))
        self.norm = nn.LayerNorm(dims[-1])
        self.head = nn.Linear(dims[-1], num_outputs)
        trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.stages) - 1
        for i, (embed, norm, blocks) in enumerate(zip(self.embeds, self.embed_norms, self.stages)):
            x = embed(x)
            h, w = x.shape[-2:]
            tokens = norm(x.flatten(2).transpose(1, 2))
            if i == last:
                tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
            for block in blocks:
                tokens = block(tokens, h, w)
            if i < last:
                x = tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        return self.head(self.norm(tokens[:, 0]))


@register_architecture("cvt13")
def cvt13(
    in_chans: int, num_outputs: int, img_size: int, dims: Sequence[int] = (64, 192, 384), depths: Sequence[int] = (1, 2, 10),
    heads: Sequence[int] = (1, 3, 6), mlp_ratio: float = 4.0, drop_path: float = 0.1,
) -> CvT:  # fmt: skip
    """CvT-13 (20 M parameters at these defaults); any image size ≥ 16 px (total stride 16)."""
    return CvT(in_chans, num_outputs, dims=dims, depths=depths, heads=heads, mlp_ratio=mlp_ratio, drop_path=drop_path)
