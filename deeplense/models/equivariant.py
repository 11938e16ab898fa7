"""Rotation-equivariant steerable CNNs (C_N and D_N) with invariant pooling, through e2cnn.

Library: e2cnn 0.2.3 (Weiler & Cesa 2019), made to run on numpy 2 by :mod:`deeplense.models.e2cnn_compat`
(one hash function). Chosen over an in-house C4/D4 group convolution because the DeepLense
equivariant studies used C8 and D8 (micro AUC 0.998 on Model A), which steerable filters give and
pixel-grid rotations cannot; and over escnn, which does not install here (py3nj needs gfortran,
lie-learn breaks on numpy 2).

Network: a lifting steerable convolution from ``in_chans`` trivial fields to regular fields, then
steerable convolutions on regular fields, each followed by InnerBatchNorm, ReLU and (but the last)
average pooling with stride 2; GroupPooling (max over each field's group channels) makes the
features invariant, global average pooling over space and a small MLP give the outputs.

Exact invariance under 90° rotations (and, for D_N with N divisible by 4, both axis flips) holds when
every sampling grid is symmetric about the image centre: convolutions use odd kernels with "same"
padding, and each pooling picks its window by the map's parity (even side: 2×2, no padding; odd
side: 3×3, padding 1), so 64 → 32 → 16 → 8 and 150 → 75 → 38 → 19 stay centred. Rotations by other
angles of the group are equivariant only up to interpolation on the pixel grid.

e2cnn caches each convolution's expanded filter as a buffer in eval mode and drops it in training
mode; here the cache is kept out of ``state_dict`` (it is derived from the weights) and rebuilt after
loading weights, so checkpoints load regardless of the mode they were saved in.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from deeplense.models.registry import register_architecture

CACHED = ("filter", "expanded_bias")  # e2cnn R2Conv buffers derived from the weights


def _e2cnn() -> tuple[Any, Any]:
    """e2cnn's ``gspaces`` and ``nn``, numpy-2 compatible (imported on first use: it costs ≈1.5 s)."""
    try:
        import deeplense.models.e2cnn_compat  # noqa: F401
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError("equivariant_cnn needs e2cnn (pinned in pyproject.toml: pip install e2cnn==0.2.3)") from e
    from e2cnn import gspaces
    from e2cnn import nn as enn

    return gspaces, enn


def centred_pool(x: torch.Tensor) -> torch.Tensor:
    """Average pooling with stride 2 whose window grid is symmetric about the centre (see module)."""
    if x.shape[-1] % 2 == 0:
        return F.avg_pool2d(x, 2)
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class EquivariantCNN(nn.Module):
    """C_N (``group="C"``) or D_N (``"D"``) steerable CNN with ``widths`` regular fields per layer
    (each field has N or 2N channels); outputs are invariant to the group's rotations (and flips)."""

    def __init__(
        self, in_chans: int, num_outputs: int, group: str = "D", order: int = 8, widths: Sequence[int] = (4, 8, 16, 16),
        kernel_size: int = 5, hidden: int = 64, dropout: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if group not in ("C", "D"):
            raise ValueError(f"equivariant_cnn: group must be 'C' or 'D', not {group!r}")
        if order < 1 or not widths or kernel_size % 2 == 0:
            raise ValueError(f"equivariant_cnn: need order ≥ 1, at least one width and an odd kernel_size (got {order}, {list(widths)}, {kernel_size})")
        gspaces, enn = _e2cnn()
        space = gspaces.Rot2dOnR2(N=order) if group == "C" else gspaces.FlipRot2dOnR2(N=order)
        self.in_type = enn.FieldType(space, in_chans * [space.trivial_repr])
        layers, field_in = [], self.in_type
        for i, width in enumerate(widths):
            field_out = enn.FieldType(space, width * [space.regular_repr])
            k = kernel_size if i == 0 else 3
            with warnings.catch_warnings():  # e2cnn indexes its basis masks with uint8, deprecated by torch
                warnings.filterwarnings("ignore", message="indexing with dtype torch.uint8", category=UserWarning)
                conv = enn.R2Conv(field_in, field_out, kernel_size=k, padding=k // 2, bias=False)
            layers.append(enn.SequentialModule(
                conv,
                enn.InnerBatchNorm(field_out),
                enn.ReLU(field_out, inplace=True),
            ))  # fmt: skip
            field_in = field_out
        self.layers = nn.ModuleList(layers)
        self.group_pool = enn.GroupPooling(field_in)
        self.head = nn.Sequential(
            nn.Linear(widths[-1], hidden), nn.BatchNorm1d(hidden), nn.ELU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, num_outputs)
        )
        self._exclude_cache()
        self.register_load_state_dict_post_hook(_refresh_after_load)

    def _convs(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, _e2cnn()[1].R2Conv)]

    def _exclude_cache(self) -> None:
        for conv in self._convs():
            conv._non_persistent_buffers_set.update(CACHED)

    def _refresh_cache(self) -> None:
        if not self.training:  # rebuild the eval-mode filters from the loaded weights
            for conv in self._convs():
                conv.train(True)
                conv.train(False)
        self._exclude_cache()

    def train(self, mode: bool = True) -> EquivariantCNN:
        super().train(mode)
        self._exclude_cache()  # e2cnn re-registers its cache as persistent buffers
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enn = _e2cnn()[1]
        h = enn.GeometricTensor(x, self.in_type)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = enn.GeometricTensor(centred_pool(h.tensor), h.type)  # pointwise: commutes with the group
        features = self.group_pool(h).tensor.mean(dim=(2, 3))
        return self.head(features)


def _refresh_after_load(module: EquivariantCNN, incompatible_keys: object) -> None:
    module._refresh_cache()


@register_architecture("equivariant_cnn")
def equivariant_cnn(
    in_chans: int, num_outputs: int, img_size: int, group: str = "D", order: int = 8, widths: Sequence[int] = (4, 8, 16, 16),
    kernel_size: int = 5, hidden: int = 64, dropout: float = 0.0,
) -> EquivariantCNN:  # fmt: skip
    """D8 by default (the DeepLense studies' best); any image size (global invariant pooling)."""
    return EquivariantCNN(in_chans, num_outputs, group=group, order=order, widths=widths, kernel_size=kernel_size, hidden=hidden, dropout=dropout)
