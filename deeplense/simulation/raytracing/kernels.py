"""Deflection of all halos of one lens plane on all rays: arrays of halos in, arrays of
deflections out (numba; the interface an accelerator backend would implement).

:func:`radial_deflections` evaluates a set of radially symmetric deflectors of any of the
families below (a family code and four parameters per halo) on rays (x, y), and adds their
reduced deflections to (ax, ay). Rays are cut into one contiguous chunk per thread (more where
a chunk would exceed :data:`CHUNK` rays, so that a chunk's rays stay in cache while each halo's
interpolation row is swept over them) and the chunks are shared among threads
(``numba.prange``); inside a chunk each ray sums the halos in their given order with the same
operations whatever the chunking, so the result is bit-identical whatever the number of threads.

Family codes and parameters (lenstronomy's names):

====  ==========  ===========================================
code  profile     p0, p1, p2, p3
====  ==========  ===========================================
0     TNFW        Rs, alpha_Rs, r_trunc, -
1     TNFWC       Rs, alpha_Rs, r_core, r_trunc
2     CNFW        Rs, alpha_Rs, r_core, -
3     ULDM        kappa_0, theta_c, slope, -
4     POINT_MASS  theta_E, -, -, -
====  ==========  ===========================================

Halos a table of :mod:`.tables` covers (TNFW; TNFWC at the table's core ratio; CNFW; ULDM) go
through it; the others (point masses, parameters outside a table) are evaluated exactly
(:mod:`.profiles`). An accelerator backend (torch, JAX) would implement this function's contract
(arrays of halos and rays in, deflections added to arrays out) and leave the physics untouched.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from deeplense.simulation.raytracing import profiles
from deeplense.simulation.raytracing.tables import blended, q_interval, q_node

CHUNK = 8192  # most rays per chunk of work
ROW_OCTAVES = 10  # a halo's blended row spans at most this many octaves of q below its farthest ray
FAMILIES = {"TNFW": 0, "TNFWC": 1, "CNFW": 2, "ULDM": 3, "POINT_MASS": 4}


@numba.njit(cache=True, inline="always", error_model="numpy")
def exact(family: int, dx: float, dy: float, p0: float, p1: float, p2: float, p3: float) -> float:
    """s with (alpha_x, alpha_y) = s (dx, dy) for one halo of ``family`` (codes above)."""
    if family == 0:
        return profiles.tnfw_deflection(dx, dy, p0, p1, p2)
    if family == 1:
        return profiles.tnfwc_deflection(dx, dy, p0, p1, p2, p3)
    if family == 2:
        return profiles.cnfw_deflection(dx, dy, p0, p1, p2)
    if family == 3:
        return profiles.uldm_deflection(dx, dy, p0, p1, p2)
    return profiles.point_mass_deflection(dx, dy, p0)


@numba.njit(cache=True, error_model="numpy")
def row_ranges(cx: np.ndarray, cy: np.ndarray, inv_rs2: np.ndarray, q_clamp: np.ndarray, tabulated: np.ndarray,
               box: np.ndarray, e_min: int, n_int: int) -> tuple[np.ndarray, np.ndarray]:
    """(first interval, number of intervals) of each tabulated halo's blended row: up to the
    farthest point of the rays' bounding box ``box`` = (x0, x1, y0, y1), down to the nearest or
    :data:`ROW_OCTAVES` octaves of q below the farthest (rays closer in, a few pixels around the
    halo, interpolate the table directly), padded by one interval; 0 for halos evaluated exactly."""
    n = cx.size
    first = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for k in range(n):
        if not tabulated[k]:
            continue
        ddx = max(box[0] - cx[k], 0.0, cx[k] - box[1])
        ddy = max(box[2] - cy[k], 0.0, cy[k] - box[3])
        fx = max(abs(box[0] - cx[k]), abs(box[1] - cx[k]))
        fy = max(abs(box[2] - cy[k]), abs(box[3] - cy[k]))
        q_lo = max((ddx * ddx + ddy * ddy) * inv_rs2[k], q_clamp[k])
        q_hi = max((fx * fx + fy * fy) * inv_rs2[k], q_lo)
        q_lo = max(q_lo, q_hi * 2.0**-ROW_OCTAVES)
        j_lo = max(q_interval(q_lo, e_min)[0] - 1, 0)
        j_hi = min(q_interval(q_hi, e_min)[0] + 1, n_int - 1)
        if j_hi >= j_lo:
            first[k] = j_lo
            count[k] = j_hi - j_lo + 1
    return first, count


@numba.njit(cache=True, parallel=True, error_model="numpy")
def blend_rows(coef: np.ndarray, row: np.ndarray, w: np.ndarray, first: np.ndarray, count: np.ndarray,
               offset: np.ndarray, own: np.ndarray, out: np.ndarray) -> None:
    """Each tabulated halo's q-interval cubics over its range, blended from its four tau rows
    (halos with their own rows excepted)."""
    for k in numba.prange(first.size):
        if own[k]:
            continue
        for jj in range(count[k]):
            j = first[k] + jj
            base = offset[k] + 4 * jj
            for c in range(4):
                out[base + c] = blended(coef, row[k], w[k, 0], w[k, 1], w[k, 2], w[k, 3], j, c)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def cored_rows(p: np.ndarray, own: np.ndarray, first: np.ndarray, count: np.ndarray, offset: np.ndarray, e_min: int,
               out: np.ndarray) -> None:
    """Rows of cored TNFW halos no table covers (pyHalo's parametric SIDM gives every halo its own
    core ratio), from their exact h(q) = g(q)/(q g(1)) and slopes at the interval ends, as
    :mod:`.tables` builds a table row; the two radius-independent terms of g once per halo."""
    for k in numba.prange(first.size):
        if not own[k] or count[k] == 0:
            continue
        b, t = p[k, 2] / p[k, 0], p[k, 3] / p[k, 0]
        if b == t:
            t += 1e-3
        pre = t * t / (t * t - 1.0)
        const = t * t * profiles.tnfwc_u1(0.0, b, t) - profiles.tnfwc_u1(0.0, b, 1.0)
        norm = profiles.tnfwc_g(1.0, p[k, 2] / p[k, 0], p[k, 3] / p[k, 0])
        h0 = d0 = q0 = 0.0
        for jj in range(count[k] + 1):
            q1 = q_node(first[k] + jj, e_min)
            x2 = q1
            a_t, a_1 = profiles.tnfwc_u1(math.sqrt(x2), b, t), profiles.tnfwc_u1(math.sqrt(x2), b, 1.0)
            g = pre * (-(t * t + x2) * a_t + const + (1.0 + x2) * a_1)
            h1 = g / (norm * q1)
            d1 = (0.5 * pre * (a_1 - a_t) - g / q1) / (norm * q1)
            if jj:
                w = q1 - q0
                base = offset[k] + 4 * (jj - 1)
                out[base] = h0
                out[base + 1] = d0 * w
                out[base + 2] = 3.0 * (h1 - h0) - 2.0 * d0 * w - d1 * w
                out[base + 3] = 2.0 * (h0 - h1) + d0 * w + d1 * w
            q0, h0, d0 = q1, h1, d1


@numba.njit(cache=True, parallel=True, error_model="numpy")
def radial_deflections(x: np.ndarray, y: np.ndarray, family: np.ndarray, cx: np.ndarray, cy: np.ndarray, p: np.ndarray,
                       coef: np.ndarray, e_min: int, row: np.ndarray, w: np.ndarray, amp: np.ndarray,
                       inv_rs2: np.ndarray, q_clamp: np.ndarray, first: np.ndarray, count: np.ndarray,
                       offset: np.ndarray, rows: np.ndarray, own: np.ndarray, ax: np.ndarray, ay: np.ndarray,
                       n_threads: int) -> None:
    """Add to (ax, ay) the reduced deflections of all halos at the rays (x, y). A halo with
    ``count[k] > 0`` is tabulated: h(q) = g(q)/q from its row (``rows[offset[k]:]``, intervals
    ``first[k]...``; blended from the table, or its own for ``own[k]``), from the table itself
    for an interval outside that range (exactly for a halo with its own row), exactly for q
    outside the table; others exactly."""
    n_pix, n_int = x.size, coef.shape[1]
    n_chunks = max(n_threads, (n_pix + CHUNK - 1) // CHUNK)
    size = (n_pix + n_chunks - 1) // n_chunks
    for b in numba.prange(n_chunks):
        i0 = b * size
        i1 = min(i0 + size, n_pix)
        for k in range(cx.size):
            xk, yk = cx[k], cy[k]
            if count[k] == 0:
                if family[k] == 4:  # point masses: the commonest exact family, its loop kept tight
                    theta_e = p[k, 0]
                    for i in range(i0, i1):
                        dx, dy = x[i] - xk, y[i] - yk
                        s = profiles.point_mass_deflection(dx, dy, theta_e)
                        ax[i] += s * dx
                        ay[i] += s * dy
                    continue
                for i in range(i0, i1):
                    dx, dy = x[i] - xk, y[i] - yk
                    s = exact(family[k], dx, dy, p[k, 0], p[k, 1], p[k, 2], p[k, 3])
                    ax[i] += s * dx
                    ay[i] += s * dy
                continue
            a, ir, qc, jf, nj, off = amp[k], inv_rs2[k], q_clamp[k], first[k], count[k], offset[k]
            for i in range(i0, i1):
                dx, dy = x[i] - xk, y[i] - yk
                q = max((dx * dx + dy * dy) * ir, qc)
                j, u = q_interval(q, e_min)
                jl = j - jf
                if 0 <= jl < nj:
                    base = off + 4 * jl
                    s = a * (((rows[base + 3] * u + rows[base + 2]) * u + rows[base + 1]) * u + rows[base])
                elif 0 <= j < n_int and not own[k]:
                    r, w0, w1, w2, w3 = row[k], w[k, 0], w[k, 1], w[k, 2], w[k, 3]
                    s = a * (((blended(coef, r, w0, w1, w2, w3, j, 3) * u + blended(coef, r, w0, w1, w2, w3, j, 2)) * u
                              + blended(coef, r, w0, w1, w2, w3, j, 1)) * u + blended(coef, r, w0, w1, w2, w3, j, 0))
                else:
                    s = exact(family[k], dx, dy, p[k, 0], p[k, 1], p[k, 2], p[k, 3])
                ax[i] += s * dx
                ay[i] += s * dy


def tau_rows(tau: np.ndarray, ln_tau0: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(first row, four cubic Lagrange weights) of each halo's truncation ratio (tables.tau_weights)."""
    s = (np.log(tau) - ln_tau0) / h + 1.0
    r = np.floor(s).astype(np.int64)
    t = s - r
    w = np.column_stack([-t * (t - 1.0) * (t - 2.0) / 6.0, (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0,
                         -(t + 1.0) * t * (t - 2.0) / 2.0, (t + 1.0) * t * (t - 1.0) / 6.0])
    return r - 1, w


def convergence(x: np.ndarray, y: np.ndarray, kappa: np.ndarray, ra_0: np.ndarray, dec_0: np.ndarray,
                ax: np.ndarray, ay: np.ndarray) -> None:
    """Add uniform convergence sheets (lenstronomy ``CONVERGENCE``: kappa (x - ra_0, y - dec_0))."""
    for k, r0, d0 in zip(kappa.tolist(), ra_0.tolist(), dec_0.tolist()):
        ax += k * (x - r0)
        ay += k * (y - d0)

