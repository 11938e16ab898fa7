"""Tables of the dimensionless deflection of NFW-like halo profiles, built once per process.

The deflection of each tabulated family is (alpha_x, alpha_y) = A g(q; p) / q (dx, dy): q the
squared radius in units of the profile's scale, p one shape parameter, A a per-halo amplitude and
g the enclosed projected mass function (exact evaluation: logarithms, arctangents, square roots
or a power, 30-50 ns; a table lookup ~3.5 ns):

====  ==========  ====================  ====================  ==========================
code  profile     q                     p                     fixed
====  ==========  ====================  ====================  ==========================
0     TNFW        (R / Rs)^2            tau = r_trunc / Rs    -
1     TNFWC       (R / Rs)^2            tau = r_trunc / Rs    beta = r_core / Rs
2     CNFW        (R / Rs)^2            b = r_core / Rs       -
3     ULDM        (R / theta_c)^2       - (one row)           slope
====  ==========  ====================  ====================  ==========================

The table holds, for rows of p (16 per octave, cubic Lagrange interpolation in log p) and
intervals of q (32 per octave: the interval index and the position inside it are read off the
bits of q's floating-point representation, without a logarithm), the cubic Hermite interpolant of
h(q; p) = g(q; p) / (q g(1; p)) from its exact values and slopes (dg/dq is half the convergence
function), so a ray costs one cubic and no division. h falls like 1/q far out, which a cubic
over an interval 1/32 of an octave wide follows to 6e-8.
Interpolation error: < 3e-7 of the halo's own deflection (``tests/test_raytracing.py`` measures
it on random points); at small q the exact double-precision formula of a truncated profile loses
digits to cancellation and the table is the more accurate of the two. Outside the table (p or q
out of range) deflections are evaluated exactly.

For each halo, the four tau rows it needs are blended once into one row of q-interval cubics
(:func:`blend_rows`), over the q range its rays can reach on its plane; a ray then costs one
cubic. The tables and the blending are deterministic: a given halo and ray always give the same
bits, whatever the threads or the order of evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from deeplense.simulation.raytracing import profiles

K = 5  # 2^K intervals per octave of q
MANTISSA_SHIFT = 52 - K
FRACTION_MASK = (1 << MANTISSA_SHIFT) - 1
TAU_PER_OCTAVE = 16


@intrinsic
def float_bits(typingctx, value):  # type: ignore[no-untyped-def]
    """The IEEE-754 bits of a float64 as an int64 (an LLVM bitcast)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@numba.njit(cache=True, inline="always", error_model="numpy")
def q_interval(q: float, e_min: int) -> tuple[int, float]:
    """(interval index, position u in [0, 1) inside it) of q > 0 on a table starting at 2^e_min."""
    bits = float_bits(q)
    return (bits >> MANTISSA_SHIFT) - ((1023 + e_min) << K), (bits & FRACTION_MASK) * (1.0 / (1 << MANTISSA_SHIFT))


@numba.njit(cache=True, inline="always", error_model="numpy")
def q_node(j: int, e_min: int) -> float:
    """Left end of interval j: 2^(e_min + j // 2^K) (1 + (j mod 2^K) / 2^K)."""
    return 2.0 ** (e_min + (j >> K)) * (1.0 + (j & ((1 << K) - 1)) / (1 << K))


@numba.njit(cache=True, error_model="numpy")
def _family_g(family: int, x: float, p: float, fixed: float) -> tuple[float, float]:
    """(g, dg/dq) of the family at x = sqrt(q), shape parameter p, fixed parameter."""
    if family == 0:
        return profiles.tnfw_g(x, p), 0.5 * profiles.tnfw_kappa(x, p)
    if family == 1:
        return profiles.tnfwc_g(x, fixed, p), 0.5 * profiles.tnfwc_kappa(x, fixed, p)
    if family == 2:
        return profiles.cnfw_g(x, p), 0.5 * profiles.cnfw_kappa(x, p)
    a = 0.5 ** (-1.0 / fixed) - 1.0
    return profiles.uldm_g(x * x, fixed), (fixed - 1.5) * a * (1.0 + a * x * x) ** (0.5 - fixed)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _build(coef: np.ndarray, family: int, e_min: int, ln_tau0: float, h: float, beta: float) -> None:
    n_rows, n_int = coef.shape[0], coef.shape[1]
    for r in numba.prange(n_rows):
        tau = math.exp(ln_tau0 + (r - 1) * h)
        norm = _family_g(family, 1.0, tau, beta)[0] if family != 3 else 1.0
        q0 = q_node(0, e_min)
        g0, d0 = _family_g(family, math.sqrt(q0), tau, beta)
        for j in range(n_int):
            q1 = q_node(j + 1, e_min)
            g1, d1 = _family_g(family, math.sqrt(q1), tau, beta)
            w = q1 - q0
            a0, a1 = g0 / (norm * q0), g1 / (norm * q1)
            s0, s1 = (d0 - g0 / q0) / (norm * q0) * w, (d1 - g1 / q1) / (norm * q1) * w
            coef[r, j, 0] = a0
            coef[r, j, 1] = s0
            coef[r, j, 2] = 3.0 * (a1 - a0) - 2.0 * s0 - s1
            coef[r, j, 3] = 2.0 * (a0 - a1) + s0 + s1
            q0, g0, d0 = q1, g1, d1


@dataclass(frozen=True)
class Table:
    """g(q; tau)/g(1; tau) on tau rows (row r: ln tau = ln_tau0 + (r - 1) h) and q intervals."""

    family: int  # codes in the module docstring
    beta: float  # the fixed parameter (TNFWC core ratio, ULDM slope)
    coef: np.ndarray  # (rows, intervals, 4) cubic coefficients in u
    e_min: int
    ln_tau0: float
    h: float

    def tau_range(self) -> tuple[float, float]:
        """Shape parameters (truncation or core ratios) whose four interpolation rows all lie in
        the table (one-row families: use :meth:`middle`)."""
        n_rows = self.coef.shape[0]
        return math.exp(self.ln_tau0 + 1e-12), math.exp(self.ln_tau0 + (n_rows - 3) * self.h - 1e-12)


    def middle(self) -> float:
        """A parameter value inside the table (for one-row families)."""
        return math.exp(self.ln_tau0 + 0.5 * self.h)


_TABLES: dict[tuple, Table] = {}
MAX_TABLES = 8  # ~20 MB each

# q from 2^E_MIN (below TNFW's x >= 0.001 clamp; cored profiles reach further in) to 2^44
_Q_OCTAVES = {0: (-20, 44), 1: (-36, 44), 2: (-36, 44), 3: (-36, 44)}
_P_OCTAVES = {0: (-24, 16), 1: (-24, 16), 2: (-16, 8), 3: (0, 0)}


def table(family: int, beta: float = 0.0) -> Table:
    """The table of ``family`` (codes in the module docstring; ``beta`` its fixed parameter),
    built on first use."""
    key = (family, float(beta))
    if key not in _TABLES:
        e_min, e_max = _Q_OCTAVES[family]
        lo, hi = _P_OCTAVES[family]
        h = math.log(2.0) / TAU_PER_OCTAVE
        coef = np.empty(((hi - lo) * TAU_PER_OCTAVE + 4, (e_max - e_min) << K, 4))
        # cored profiles: g has a removable singularity at p = 1 (lenstronomy's t^2/(t^2 - 1) and
        # 1/(1 - b)^2 prefactors), so their rows sit half a step off p = 1
        ln_tau0 = lo * math.log(2.0) + (0.5 * h if family in (1, 2) else 0.0)
        _build(coef, family, e_min, ln_tau0, h, float(beta))
        if len(_TABLES) >= MAX_TABLES:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = Table(family, float(beta), coef, e_min, ln_tau0, h)
    return _TABLES[key]


def grid(family: int) -> Table:
    """A table with the q intervals of ``family`` and no rows: the indexing of halos that carry
    their own rows (:func:`deeplense.simulation.raytracing.kernels.cored_rows`)."""
    key = ("grid", family)
    if key not in _TABLES:
        e_min, e_max = _Q_OCTAVES[family]
        _TABLES[key] = Table(family, math.nan, np.zeros((4, (e_max - e_min) << K, 4)), e_min, 0.0, 1.0)
    return _TABLES[key]


@numba.njit(cache=True, inline="always", error_model="numpy")
def tau_weights(tau: float, ln_tau0: float, h: float) -> tuple[int, float, float, float, float]:
    """(first row, cubic Lagrange weights of rows first..first+3) for tau."""
    s = (math.log(tau) - ln_tau0) / h + 1.0
    r = int(math.floor(s))
    t = s - r
    w0 = -t * (t - 1.0) * (t - 2.0) / 6.0
    w1 = (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0
    w2 = -(t + 1.0) * t * (t - 2.0) / 2.0
    w3 = (t + 1.0) * t * (t - 1.0) / 6.0
    return r - 1, w0, w1, w2, w3


@numba.njit(cache=True, inline="always", error_model="numpy")
def blended(coef: np.ndarray, r: int, w0: float, w1: float, w2: float, w3: float, j: int, c: int) -> float:
    """Coefficient c of interval j of the row blended from rows r..r+3 (the one expression used
    everywhere, so a blended value does not depend on where it is computed)."""
    return w0 * coef[r, j, c] + w1 * coef[r + 1, j, c] + w2 * coef[r + 2, j, c] + w3 * coef[r + 3, j, c]
