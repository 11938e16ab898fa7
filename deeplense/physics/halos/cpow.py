"""``x ** y`` as the C library computes it, for arrays.

numpy's array power takes shortcuts (square, reciprocal, square root) and SIMD code that differ
in the last bit from the C library's ``pow``, which Python floats and numpy scalars use; pyHalo
computes with scalars. Where a result must be pyHalo's to the bit, powers go through
:func:`cpow` (compiled with numba, the exponent passed at run time so that the compiler cannot
replace ``pow`` by a shortcut either).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def _cpow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = x[i] ** y[0]
    return out


def cpow(x: np.ndarray, y: float) -> np.ndarray:
    """Elementwise C ``pow(x, y)`` of a float array (any shape) and one exponent."""
    x = np.asarray(x, dtype=float)
    return _cpow(np.ascontiguousarray(x).ravel(), np.array([float(y)])).reshape(x.shape)
