"""Equivariant Transformer layers (Tai, Bailis & Valiant, "Equivariant Transformer Networks",
ICML 2019, arXiv:1901.11399) in front of any backbone: each layer predicts the pose of the image
in one transform family (rotation, scale, rotation_scale, shear, hyperbolic, perspective; see
:mod:`deeplense.models.canonical_coordinates`), and the image is brought to a canonical pose before
the backbone sees it.

A layer resamples the image on the canonical grid of its family, where the family's transform is
a translation along u; a small CNN, translation-equivariant along u (circular padding for periodic
coordinates such as the angle, zeros otherwise), gives a heat map whose mean over v is a
distribution over u; its circular mean (periodic u) or expectation (otherwise, measured from the
axis centre) is the pose t. Shifting the input by t₀ along u shifts the heat map, so the predicted
pose moves by t₀: rotating the input by α adds α to the predicted angle. Two-parameter families
(rotation_scale) read the second parameter along v the same way.

Layers run in sequence; each sees the image already canonicalised by the layers before it. The
transforms are composed as 3×3 homogeneous matrices (M ← M·T(t)), and every resampling, each layer's
canonical grid and the final image, reads the original image through M with a single
``F.grid_sample`` (bilinear, ``align_corners=False``, zeros outside), so interpolation errors never
accumulate (Tai et al., Sec. 4.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from deeplense.models.arguments import ArchitectureArgumentError, check_choice, check_positive
from deeplense.models.canonical_coordinates import CANONICAL_COORDINATES, CanonicalCoordinates
from deeplense.models.registry import create_model, register_architecture


def sample(image: torch.Tensor, matrix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``image`` (n, c, H, W) read at ``matrix`` (n, 3, 3) · ``points`` (h, w, 3, homogeneous
    normalised coordinates): (n, c, h, w), bilinear, zeros outside the image."""
    h, w = points.shape[:2]
    mapped = torch.einsum("nij,pj->npi", matrix, points.reshape(-1, 3))
    grid = mapped[..., :2] / mapped[..., 2:]
    return F.grid_sample(image, grid.reshape(-1, h, w, 2), mode="bilinear", padding_mode="zeros", align_corners=False)


class AxisPad(nn.Module):
    """Pad by one on each side: circularly along periodic axes (keeps convolutions shift-equivariant on a circle), zeros otherwise."""

    def __init__(self, periodic_width: bool, periodic_height: bool) -> None:
        super().__init__()
        self.periodic_width, self.periodic_height = periodic_width, periodic_height

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 0, 0), mode="circular" if self.periodic_width else "constant")
        return F.pad(x, (0, 0, 1, 1), mode="circular" if self.periodic_height else "constant")


class PosePredictor(nn.Module):
    """One Equivariant Transformer layer: canonical resampling, an equivariant CNN, the pose read-out."""

    def __init__(self, family: CanonicalCoordinates, in_chans: int, size: int, channels: int, layers: int) -> None:
        super().__init__()
        self.family = family
        self.register_buffer("points", torch.tensor(family.grid(size, size), dtype=torch.float32), persistent=False)
        pad = AxisPad(family.u.periodic, family.v.periodic)
        convs: list[nn.Module] = []
        chans = [in_chans] + [channels] * layers
        for a, b in zip(chans[:-1], chans[1:]):
            convs += [pad, nn.Conv2d(a, b, 3), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*convs, nn.Conv2d(chans[-1], 1, 1))
        self.register_buffer("u_values", torch.tensor(family.u.values(size), dtype=torch.float32), persistent=False)
        self.register_buffer("v_values", torch.tensor(family.v.values(size), dtype=torch.float32), persistent=False)

    def canonical(self, image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """The image seen through ``matrix``, resampled on this family's canonical grid."""
        return sample(image, matrix, self.points.to(image.device, image.dtype))

    def forward(self, image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """The pose parameters (n, k) of ``image`` seen through ``matrix``."""
        heat = self.body(self.canonical(image, matrix))[:, 0]  # (n, v, u)
        params = [self._read(heat.mean(dim=1), self.u_values, self.family.u.periodic, self.family.u.centre)]
        if "v" in self.family.parameters:
            params.append(self._read(heat.mean(dim=2), self.v_values, self.family.v.periodic, self.family.v.centre))
        return torch.stack(params, dim=1)

    @staticmethod
    def _read(logits: torch.Tensor, values: torch.Tensor, periodic: bool, centre: float) -> torch.Tensor:
        """Circular mean (periodic axes) or expectation minus the axis centre of softmax(logits) over ``values``."""
        p = logits.softmax(dim=1)
        values = values.to(p.dtype)
        if periodic:
            return torch.atan2((p * torch.sin(values)).sum(1), (p * torch.cos(values)).sum(1))
        return (p * values).sum(1) - centre


class EquivariantTransformer(nn.Module):
    """Pose-predicting layers for ``families`` in sequence, one resampling to the canonical pose, then ``backbone``."""

    def __init__(
        self, families: Sequence[CanonicalCoordinates], backbone: nn.Module, in_chans: int, img_size: int,
        canonical_size: int, channels: int, layers: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.layers = nn.ModuleList(PosePredictor(f, in_chans, canonical_size, channels, layers) for f in families)
        self.backbone = backbone
        centres = (2 * np.arange(img_size) + 1) / img_size - 1  # pixel centres, align_corners=False
        x, y = np.meshgrid(centres, centres)
        self.register_buffer("pixels", torch.tensor(np.stack([x, y, np.ones_like(x)], -1), dtype=torch.float32), persistent=False)

    def poses(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each layer's pose parameters and the composed matrix taking the canonical image to ``x``."""
        matrix = torch.eye(3, dtype=x.dtype, device=x.device).expand(x.shape[0], 3, 3)
        params = []
        for layer in self.layers:
            p = layer(x, matrix)
            params.append(p)
            matrix = matrix @ layer.family.matrix(p)
        return params, matrix

    def canonicalise(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` resampled once into the canonical pose the layers predict."""
        _, matrix = self.poses(x)
        return sample(x, matrix, self.pixels.to(x.device, x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.canonicalise(x))


@register_architecture("equivariant_transformer")
def equivariant_transformer(
    in_chans: int, num_outputs: int, img_size: int, transforms: Sequence[str] = ("rotation", "scale"), backbone: str = "resnet18",
    backbone_args: dict[str, Any] | None = None, canonical_size: int = 32, pose_channels: int = 16, pose_layers: int = 3,
) -> EquivariantTransformer:  # fmt: skip
    """Equivariant Transformer layers for ``transforms`` (in order) in front of ``backbone`` (a timm or
    registered name, with ``backbone_args``); pose CNNs of ``pose_layers`` × ``pose_channels`` on
    ``canonical_size``² canonical grids."""
    if isinstance(transforms, str) or not transforms:
        raise ArchitectureArgumentError("equivariant_transformer", "transforms", transforms, f"a non-empty list of {', '.join(CANONICAL_COORDINATES.names())}")
    for t in transforms:
        check_choice("equivariant_transformer", "transforms", t, CANONICAL_COORDINATES.names())
    for name, value in (("canonical_size", canonical_size), ("pose_channels", pose_channels), ("pose_layers", pose_layers)):
        check_positive("equivariant_transformer", name, value)
    if backbone == "equivariant_transformer":
        raise ArchitectureArgumentError("equivariant_transformer", "backbone", backbone, "any other architecture")
    net = create_model(backbone, in_chans=in_chans, num_outputs=num_outputs, img_size=img_size, **(backbone_args or {}))
    families = [CANONICAL_COORDINATES.get(t)() for t in transforms]
    return EquivariantTransformer(families, net, in_chans, img_size, canonical_size, pose_channels, pose_layers)
