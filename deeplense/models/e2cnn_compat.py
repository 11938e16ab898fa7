"""Make e2cnn 0.2.3 (the newest release) work on numpy 2, by replacing exactly what numpy 2 broke.

Two breaks matter for C_N / D_N steerable convolutions (found by running them on numpy 2.4):

* the kernel bases hash their frequency arrays with ``ndarray.tostring()``, removed in numpy 2 (it
  was an alias of ``tobytes()``): their ``__hash__`` is replaced by one hashing ``tobytes()``, the
  same bytes, so the same values;
* ``e2cnn.kernels.utils`` (``psi``, ``chi``, ``psichi``, the harmonic bases of D_N) calls
  ``np.array(x, copy=False)``, which numpy 2 turned from "copy if needed" into "never copy" (an error
  for scalars): that module alone sees a numpy whose ``array`` maps ``copy=False`` to ``copy=None``,
  numpy 2's spelling of the old meaning.

The remaining break (``np.float`` in ``O2.induced_representation``) concerns O(2)-induced
representations, which deeplense does not use. Import this module before building e2cnn layers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from e2cnn.kernels import irreps_basis
from e2cnn.kernels import utils as kernel_utils

# The classes whose __hash__ calls ndarray.tostring (e2cnn 0.2.3, e2cnn/kernels/irreps_basis.py).
BROKEN_HASH = ("R2FlipsSolution", "R2ContinuousRotationsSolution", "R2FlipsDiscreteRotationsSolution", "R2FlipsContinuousRotationsSolution")


def _bytes(value: object) -> object:
    return value.tobytes() if isinstance(value, np.ndarray) else value


def _hash(self: irreps_basis.IrrepBasis) -> int:
    return hash(self.in_irrep) + hash(self.out_irrep) + hash(_bytes(self.mu)) + hash(_bytes(self.gamma))


class _Numpy1Copy:
    """numpy, except that ``array(x, copy=False)`` copies when needed, as in numpy 1."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def array(obj: Any, *args: Any, copy: bool | None = True, **kwargs: Any) -> np.ndarray:
        return np.array(obj, *args, copy=None if copy is False else copy, **kwargs)


for _name in BROKEN_HASH:
    getattr(irreps_basis, _name).__hash__ = _hash
kernel_utils.np = _Numpy1Copy()
