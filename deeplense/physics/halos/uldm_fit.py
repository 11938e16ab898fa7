"""scipy's bounded Nelder-Mead minimiser, run for many 2-parameter problems in lockstep.

pyHalo 1.4.6 fits, for every ultralight (ULDM) halo, a core-radius factor and a soliton mass
factor with ``scipy.optimize.minimize(..., method='Nelder-Mead', bounds=..., tol=0.001)``. The
fit stops at a tolerance of 1e-3, so its result depends on every comparison the simplex makes:
to give pyHalo's halos, the minimiser must be scipy's, step for step. Here scipy 1.17's
``_minimize_neldermead`` (non-adaptive coefficients 1, 2, 1/2, 1/2; its initial simplex,
reflection into the bounds, clipping and stopping rules; 200 N iterations and function calls at
most; numpy's stable argsort with NaN last) is a state machine per problem (numba), advanced one
function value at a time; each round evaluates the pending points of all problems in one
vectorised call of the objective, so the cost is a few hundred small calls whatever the number
of halos. The objective must give, element by element, the value the scalar objective gives
(see :mod:`.uldm`).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

N = 2  # parameters
MAXFUN = MAXITER = 200 * N
INIT, REFLECT, EXPAND, CONTRACT, INSIDE, SHRINK, DONE = range(7)


@numba.njit(cache=True, inline="always")
def _clip(v: float, lo: float, hi: float) -> float:
    return v if np.isnan(v) else min(max(v, lo), hi)


@numba.njit(cache=True)
def _sort(sim: np.ndarray, fsim: np.ndarray) -> None:
    """numpy's argsort of the three values (stable, NaN last) applied to sim and fsim."""
    order = np.arange(3)
    for i in range(1, 3):
        j, vi = i, order[i]
        while j > 0:
            a, b = fsim[vi], fsim[order[j - 1]]
            if a < b or (np.isnan(b) and not np.isnan(a)):
                order[j] = order[j - 1]
                j -= 1
            else:
                break
        order[j] = vi
    s, f = sim.copy(), fsim.copy()
    for i in range(3):
        sim[i] = s[order[i]]
        fsim[i] = f[order[i]]


class State:
    """Arrays of the simplex state of every problem (see the module docstring)."""

    def __init__(self, n: int, x0: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        x0 = np.minimum(np.maximum(np.asarray(x0, dtype=float), lb), ub)
        sim = np.empty((N + 1, N))
        sim[0] = x0
        for k in range(N):
            y = x0.copy()
            y[k] = (1 + 0.05) * y[k] if y[k] != 0 else 0.00025
            sim[k + 1] = y
        sim = np.clip(np.where(sim > ub, 2 * ub - sim, sim), lb, ub)
        self.sim = np.repeat(sim[None], n, axis=0)
        self.fsim = np.full((n, N + 1), np.inf)
        self.phase = np.full(n, INIT, dtype=np.int64)
        self.sub = np.zeros(n, dtype=np.int64)
        self.calls = np.ones(n, dtype=np.int64)  # the first point is requested below
        self.iters = np.zeros(n, dtype=np.int64)
        self.xbar = np.zeros((n, N))
        self.xr = np.zeros((n, N))
        self.fxr = np.zeros(n)
        self.point = self.sim[:, 0].copy()  # pending point of each problem
        self.lb, self.ub = lb, ub


@numba.njit(cache=True)
def _request(k: int, p: np.ndarray, calls: np.ndarray, point: np.ndarray) -> bool:
    if calls[k] >= MAXFUN:
        return False
    calls[k] += 1
    point[k, 0], point[k, 1] = p[0], p[1]
    return True


@numba.njit(cache=True)
def _loop_top(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol):  # type: ignore[no-untyped-def]
    """The head of scipy's iteration loop for problem k: stop, or ask for the reflected point."""
    while True:
        if not (calls[k] < MAXFUN and iters[k] < MAXITER):
            phase[k] = DONE
            return
        dx = 0.0
        df = 0.0
        nan = False
        for i in range(1, 3):
            for c in range(2):
                v = abs(sim[k, i, c] - sim[k, 0, c])
                nan |= np.isnan(v)
                dx = max(dx, v)
            v = abs(fsim[k, 0] - fsim[k, i])
            nan |= np.isnan(v)
            df = max(df, v)
        if not nan and dx <= tol and df <= tol:
            phase[k] = DONE
            return
        for c in range(2):
            xbar[k, c] = (sim[k, 0, c] + sim[k, 1, c]) / 2
            xr[k, c] = _clip((1 + 1) * xbar[k, c] - 1 * sim[k, 2, c], lb[c], ub[c])
        if _request(k, xr[k], calls, point):
            phase[k] = REFLECT
            return
        _sort(sim[k], fsim[k])  # too many calls: scipy's except-pass, sort, and the loop ends


@numba.njit(cache=True)
def _end_iteration(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol):  # type: ignore[no-untyped-def]
    iters[k] += 1
    _sort(sim[k], fsim[k])
    _loop_top(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)


@numba.njit(cache=True)
def _ask(k, p, next_phase, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol):  # type: ignore[no-untyped-def]
    """Request point p; on too many calls, scipy's except-pass: sort and back to the loop head."""
    if _request(k, p, calls, point):
        phase[k] = next_phase
    else:
        _sort(sim[k], fsim[k])
        _loop_top(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)


@numba.njit(cache=True)
def _shrink_step(k, j, sim, fsim, phase, sub, calls, iters, xbar, xr, point, lb, ub, tol):  # type: ignore[no-untyped-def]
    for c in range(2):
        sim[k, j, c] = _clip(sim[k, 0, c] + 0.5 * (sim[k, j, c] - sim[k, 0, c]), lb[c], ub[c])
    sub[k] = j
    _ask(k, sim[k, j].copy(), SHRINK, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)


@numba.njit(cache=True)
def advance(which: np.ndarray, values: np.ndarray, sim: np.ndarray, fsim: np.ndarray, phase: np.ndarray,
            sub: np.ndarray, calls: np.ndarray, iters: np.ndarray, xbar: np.ndarray, xr: np.ndarray, fxr: np.ndarray,
            point: np.ndarray, lb: np.ndarray, ub: np.ndarray, tol: float) -> None:
    """Give each problem ``which[i]`` the objective value ``values[i]`` at its pending point and
    run scipy's algorithm on to its next request (or its end)."""
    p = np.empty(2)
    for i in range(which.size):
        k, f = which[i], values[i]
        ph = phase[k]
        if ph == INIT:
            fsim[k, sub[k]] = f
            sub[k] += 1
            if sub[k] < 3:
                _ask(k, sim[k, sub[k]].copy(), INIT, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
            else:
                _sort(sim[k], fsim[k])
                _sort(sim[k], fsim[k])
                iters[k] = 1
                _loop_top(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
        elif ph == REFLECT:
            fxr[k] = f
            if f < fsim[k, 0]:
                for c in range(2):
                    p[c] = _clip((1 + 1 * 2) * xbar[k, c] - 1 * 2 * sim[k, 2, c], lb[c], ub[c])
                _ask(k, p, EXPAND, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
            elif f < fsim[k, 1]:
                sim[k, 2] = xr[k]
                fsim[k, 2] = f
                _end_iteration(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
            elif f < fsim[k, 2]:
                for c in range(2):
                    p[c] = _clip((1 + 0.5 * 1) * xbar[k, c] - 0.5 * 1 * sim[k, 2, c], lb[c], ub[c])
                _ask(k, p, CONTRACT, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
            else:
                for c in range(2):
                    p[c] = _clip((1 - 0.5) * xbar[k, c] + 0.5 * sim[k, 2, c], lb[c], ub[c])
                _ask(k, p, INSIDE, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
        elif ph == EXPAND:
            if f < fxr[k]:
                sim[k, 2] = point[k]
                fsim[k, 2] = f
            else:
                sim[k, 2] = xr[k]
                fsim[k, 2] = fxr[k]
            _end_iteration(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
        elif ph == CONTRACT or ph == INSIDE:
            accept = f <= fxr[k] if ph == CONTRACT else f < fsim[k, 2]
            if accept:
                sim[k, 2] = point[k]
                fsim[k, 2] = f
                _end_iteration(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)
            else:
                _shrink_step(k, 1, sim, fsim, phase, sub, calls, iters, xbar, xr, point, lb, ub, tol)
        elif ph == SHRINK:
            fsim[k, sub[k]] = f
            if sub[k] < 2:
                _shrink_step(k, sub[k] + 1, sim, fsim, phase, sub, calls, iters, xbar, xr, point, lb, ub, tol)
            else:
                _end_iteration(k, sim, fsim, phase, calls, iters, xbar, xr, point, lb, ub, tol)


def minimize(objective: Callable[[np.ndarray, np.ndarray], np.ndarray], x0: np.ndarray, bounds: tuple, tol: float,
             n_problems: int) -> np.ndarray:
    """Solutions (n_problems, 2) of ``scipy.optimize.minimize(f_i, x0, method='Nelder-Mead',
    bounds=bounds, tol=tol)`` for i < n_problems. ``objective(points, which)`` returns f_i at
    ``points[k]`` for problems ``which[k]``, elementwise equal to the scalar objectives."""
    lb = np.array([b[0] for b in bounds], dtype=float)
    ub = np.array([b[1] for b in bounds], dtype=float)
    s = State(n_problems, x0, lb, ub)
    while True:
        which = np.flatnonzero(s.phase != DONE)
        if which.size == 0:
            return s.sim[:, 0].copy()
        values = np.asarray(objective(s.point[which], which), dtype=float)
        advance(which, values, s.sim, s.fsim, s.phase, s.sub, s.calls, s.iters, s.xbar, s.xr, s.fxr, s.point,
                lb, ub, float(tol))
