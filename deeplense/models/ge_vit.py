"""A group-equivariant vision transformer for the p4 (90° rotations) and p4m (rotations and
reflections) groups: an equivariant patch embedding lifts the image to features on positions ×
group elements, group self-attention blocks keep that structure, and pooling over the group and
positions gives invariant outputs.

After Romero & Cordonnier, "Group Equivariant Stand-Alone Self-Attention for Vision" (ICLR 2021),
and Xu et al., "E(2)-Equivariant Vision Transformer" (UAI 2023), on patches so that 64×64 and
150×150 images train on a CPU:

* **lifting** (patch embedding): a convolution over non-overlapping P×P patches whose kernel is
  used in every rotated (and flipped) copy ``g·W``, one per group element: f(x, g) = ⟨g·W, patch(x)⟩;
* **group self-attention**: every (position x, element g) attends to every (y, h), with scores
  q(x,g)·k(y,h) + b(g⁻¹(y − x), g⁻¹h), a learned relative encoding read in the frame of g, which is
  what makes the attention equivariant (Romero & Cordonnier, Sec. 4); pre-norm blocks with an MLP,
  both pointwise on (x, g);
* **invariant read-out**: layer norm, mean over positions and group elements, linear head.

Rotating the input by a group element r rotates every feature map and permutes the group axis:
f'(x, g) = f(r⁻¹x, r⁻¹g), exactly, when the patch grid is symmetric about the image centre. The
default patch gives at most 10 tokens a side (64 → 8, 8×8 tokens; 150 → 15, 10×10); an image
that a patch does not divide is zero-padded equally on all sides to the next multiple, and a patch
size that would need unequal padding is refused.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, trunc_normal_

from deeplense.models.arguments import ArchitectureArgumentError, check_choice, check_positive
from deeplense.models.group_actions import PixelGroup
from deeplense.models.registry import register_architecture
from deeplense.models.timm_zoo import patch_size_for

GROUP_NAMES = ("p4", "p4m")
MAX_TOKENS = 10  # per side, for the automatic patch size


class LiftingPatchEmbed(nn.Module):
    """Non-overlapping P×P patches, embedded by every group transform of one kernel: (n, c, H, W) → (n, |G|, dim, H/P, W/P)."""

    def __init__(self, in_chans: int, dim: int, patch: int, group: PixelGroup) -> None:
        super().__init__()
        self.patch, self.group = patch, group
        self.weight = nn.Parameter(torch.empty(dim, in_chans, patch, patch))
        self.bias = nn.Parameter(torch.zeros(dim))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernels = torch.cat([self.group.act(self.weight, g) for g in range(self.group.order)])
        out = F.conv2d(x, kernels, self.bias.repeat(self.group.order), stride=self.patch)
        return out.unflatten(1, (self.group.order, -1))


def relative_index(group: PixelGroup, side: int) -> np.ndarray:
    """For queries (g, x) and keys (h, y) on a side×side token grid, the flat index of
    (g⁻¹h, g⁻¹(y − x)) in a table of |G| × (2·side − 1)² relative encodings: shape (L, L), L = |G|·side²."""
    span = 2 * side - 1
    offsets = np.arange(span * span).reshape(span, span)
    # act(offsets, g)[Δ] = offsets[g⁻¹Δ]: the table index of g⁻¹Δ, at the position of Δ
    rotated = np.stack([group.act_numpy(offsets, g) for g in range(group.order)])  # (G, span, span)
    ys, xs = np.divmod(np.arange(side * side), side)
    dy = ys[None, :] - ys[:, None] + side - 1  # (query x, key y)
    dx = xs[None, :] - xs[:, None] + side - 1
    inv = group.inverse
    elements = group.table[inv[:, None], np.arange(group.order)[None, :]]  # (g, h) -> g⁻¹h
    index = elements[:, None, :, None] * span * span + rotated[:, dy, dx][:, :, None, :]  # (g, x, h, y)
    return index.reshape(group.order * side * side, group.order * side * side)


class GroupSelfAttention(nn.Module):
    """Multi-head self-attention over all (position, group element) pairs with a group-invariant
    relative positional encoding (see the module docstring)."""

    def __init__(self, dim: int, heads: int, group: PixelGroup, side: int) -> None:
        super().__init__()
        if dim % heads:
            raise ArchitectureArgumentError("ge_vit", "heads", heads, f"a divisor of dim={dim}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.encoding = nn.Parameter(torch.zeros(heads, group.order * (2 * side - 1) ** 2))
        trunc_normal_(self.encoding, std=0.02)
        self.register_buffer("index", torch.from_numpy(relative_index(group, side)), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(tokens).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)
        bias = self.encoding[:, self.index.to(self.encoding.device)].to(q.dtype)  # (heads, L, L)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).flatten(2))


class GroupBlock(nn.Module):
    """Pre-norm transformer block on (position, group element) tokens."""

    def __init__(self, dim: int, heads: int, group: PixelGroup, side: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = GroupSelfAttention(dim, heads, group, side)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class GroupEquivariantViT(nn.Module):
    """Lifting patch embedding, ``depth`` group self-attention blocks, invariant pooling, linear head."""

    def __init__(
        self, in_chans: int, num_outputs: int, img_size: int, group: str, patch: int, dim: int, depth: int, heads: int,
        mlp_ratio: float, drop_path: float, dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.group = PixelGroup.named(group)
        self.side = -(-img_size // patch)
        self.pad = self.side * patch - img_size
        if self.pad % 2:
            raise ArchitectureArgumentError(
                "ge_vit", "patch_size", patch, f"a size that divides {img_size} px or leaves an even remainder to pad (equal padding keeps the grid centred)"
            )
        self.embed = LiftingPatchEmbed(in_chans, dim, patch, self.group)
        self.position = nn.Parameter(torch.zeros(1, 1, dim))  # one learned offset for every token: invariant
        rates = torch.linspace(0, drop_path, max(depth, 1), device="cpu").tolist()
        self.blocks = nn.Sequential(*[GroupBlock(dim, heads, self.group, self.side, mlp_ratio, rates[i]) for i in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, num_outputs))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Features on the group and the token grid, (n, |G|, dim, side, side): equivariant."""
        if self.pad:
            half = self.pad // 2
            x = F.pad(x, (half, half, half, half))
        f = self.embed(x)  # (n, G, dim, side, side)
        n, order, dim = f.shape[:3]
        tokens = f.permute(0, 1, 3, 4, 2).reshape(n, order * self.side * self.side, dim) + self.position
        tokens = self.norm(self.blocks(tokens))
        return tokens.reshape(n, order, self.side, self.side, dim).permute(0, 1, 4, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_maps(x).mean(dim=(1, 3, 4)))


@register_architecture("ge_vit")
def ge_vit(
    in_chans: int, num_outputs: int, img_size: int, group: str = "p4m", patch_size: int | None = None, dim: int = 64,
    depth: int = 4, heads: int = 4, mlp_ratio: float = 2.0, drop_path: float = 0.0, dropout: float = 0.0,
) -> GroupEquivariantViT:  # fmt: skip
    """Group-equivariant ViT for ``group`` p4 or p4m: logits invariant to 90° rotations (and flips);
    ``patch_size`` defaults to at most 10 tokens a side."""
    check_choice("ge_vit", "group", group, GROUP_NAMES)
    for name, value in (("dim", dim), ("depth", depth), ("heads", heads)):
        check_positive("ge_vit", name, value)
    patch = patch_size_for(img_size, MAX_TOKENS) if patch_size is None else check_positive("ge_vit", "patch_size", patch_size)
    return GroupEquivariantViT(in_chans, num_outputs, img_size, group, patch, dim, depth, heads, mlp_ratio, drop_path, dropout)
