"""numpy's legacy global random stream, drawn in bulk but consumed in pyHalo's order.

pyHalo draws from the global ``numpy.random`` (a legacy ``RandomState``), halo by halo: a uniform
for an infall redshift or a Galacticus bound mass (scipy's ``rvs`` draws one uniform and applies
the inverse CDF), a Gaussian for a concentration scatter. :func:`draw` takes the sequence of
draw kinds of a whole realization, pulls the raw doubles of the Mersenne Twister in one call and
hands them out exactly as the scalar calls would have: a uniform takes one double; a Gaussian
uses the cached second value of the previous pair if there is one, else the polar method of
numpy's ``legacy_gauss`` (two doubles per try, rejected outside the unit disc; the second value
is cached). The global generator is then left in the very state those scalar calls leave it in,
so anything pyHalo draws afterwards is unchanged.
"""

from __future__ import annotations

import math

import numpy as np

UNIFORM, GAUSS = 0, 1


def _replay(kinds: np.ndarray, raw: np.ndarray, has_gauss: bool, gauss: float) -> tuple[np.ndarray, int, bool, float]:
    """Values for ``kinds`` from the raw doubles ``raw``; (values, doubles used or -1 when ``raw``
    ran out, the Gaussian cache after the last draw)."""
    out = np.empty(len(kinds))
    p, n = 0, len(raw)
    raw_list = raw.tolist()
    for i, kind in enumerate(kinds.tolist()):
        if kind == UNIFORM:
            if p >= n:
                return out, -1, has_gauss, gauss
            out[i] = raw_list[p]
            p += 1
        elif has_gauss:
            out[i], has_gauss, gauss = gauss, False, 0.0
        else:
            while True:  # numpy's legacy_gauss: the polar Box-Muller method
                if p + 2 > n:
                    return out, -1, has_gauss, gauss
                x1 = 2.0 * raw_list[p] - 1.0
                x2 = 2.0 * raw_list[p + 1] - 1.0
                p += 2
                r2 = x1 * x1 + x2 * x2
                if r2 < 1.0 and r2 != 0.0:
                    break
            f = math.sqrt(-2.0 * math.log(r2) / r2)
            gauss, has_gauss = f * x1, True
            out[i] = f * x2
    return out, p, has_gauss, gauss


def draw(kinds: np.ndarray) -> np.ndarray:
    """The next ``len(kinds)`` draws of the global legacy stream: ``kinds[i]`` is
    :data:`UNIFORM` (a double in [0, 1)) or :data:`GAUSS` (a standard normal). Advances the global
    generator exactly as the equivalent sequence of scalar ``numpy.random`` calls would."""
    kinds = np.asarray(kinds, dtype=np.int8)
    state = np.random.get_state()
    name, key, pos, has_gauss, gauss = state
    size = int((kinds == UNIFORM).sum() + 2 * (kinds == GAUSS).sum() + 64)
    while True:
        np.random.set_state(state)
        values, used, has_gauss_after, gauss_after = _replay(kinds, np.random.random_sample(size), bool(has_gauss), float(gauss))
        if used >= 0:
            break
        size *= 2
    np.random.set_state(state)
    np.random.random_sample(used)  # advance past what was used
    _, key, pos, _, _ = np.random.get_state()
    np.random.set_state((name, key, pos, int(has_gauss_after), float(gauss_after)))
    return values
