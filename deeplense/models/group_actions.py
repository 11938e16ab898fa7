"""The pixel-grid symmetries of a square image: the rotation group C4 (p4 on the plane) and the
dihedral group D4 (p4m), as exact tensor operations (``torch.rot90``, ``torch.flip``) with their
multiplication table, shared by the group-pooled wrapper and the group-equivariant ViT.

Element ``i`` of a group is ``(flip, k)`` = first a left-right flip (if ``flip``), then ``k``
quarter turns; the table is computed by applying the elements to an asymmetric array, so it agrees
with the tensor operations by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

GROUPS = {"C4": 4, "p4": 4, "D4": 8, "p4m": 8}  # name -> order (plane groups p4/p4m act as C4/D4 on a centred grid)


@dataclass(frozen=True)
class PixelGroup:
    """C4 (``order`` 4) or D4 (``order`` 8) acting on the last two axes of arrays and tensors."""

    order: int

    @classmethod
    def named(cls, name: str) -> PixelGroup:
        """The group called ``name`` (C4/p4 or D4/p4m)."""
        return cls(GROUPS[name])

    def element(self, i: int) -> tuple[bool, int]:
        """(flip first, number of quarter turns) of element ``i``."""
        return i >= 4, i % 4

    def act(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Element ``i`` applied to the last two (spatial) axes of ``x``."""
        flip, k = self.element(i)
        x = torch.flip(x, dims=(-1,)) if flip else x
        return torch.rot90(x, k, dims=(-2, -1)) if k else x

    def act_numpy(self, x: np.ndarray, i: int) -> np.ndarray:
        """Element ``i`` applied to the last two axes of a numpy array (same as :meth:`act`)."""
        flip, k = self.element(i)
        x = np.flip(x, axis=-1) if flip else x
        return np.rot90(x, k, axes=(-2, -1))

    @cached_property
    def table(self) -> np.ndarray:
        """``table[a, b]`` is the element ``a·b`` (apply ``b``, then ``a``)."""
        probe = np.arange(9).reshape(3, 3)
        images = [self.act_numpy(probe, i) for i in range(self.order)]
        out = np.empty((self.order, self.order), dtype=np.int64)
        for a in range(self.order):
            for b in range(self.order):
                ab = self.act_numpy(images[b], a)
                out[a, b] = next(c for c in range(self.order) if np.array_equal(images[c], ab))
        return out

    @cached_property
    def inverse(self) -> np.ndarray:
        """``inverse[a]`` is the element undoing ``a``."""
        return np.array([int(np.flatnonzero(self.table[a] == 0)[0]) for a in range(self.order)])

    def orbit(self, x: torch.Tensor) -> torch.Tensor:
        """Every element applied to ``x`` (n, ...), stacked as (order·n, ...), element-major."""
        return torch.cat([self.act(x, i) for i in range(self.order)])
