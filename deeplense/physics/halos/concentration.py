"""Halo concentrations for arrays of (mass, redshift), as pyHalo 1.4.6 draws them.

colossus evaluates its concentration models for many masses at one redshift; pyHalo calls it once
per halo, because a subhalo's concentration is evaluated at its own random infall redshift. The
two models pyHalo's presets use are written here for one (mass, redshift) pair per element, with
colossus's own interpolators and in colossus's order of operations:

- Ludlow et al. (2016, MNRAS 460, 1214), colossus ``modelLudlow16``: the concentration at which
  the mass-accretion history (Eqs. 6-7) matches the enclosed mass of an Einasto profile
  (alpha = 0.18), found on colossus's grid of 200 concentrations;
- Diemer & Joyce (2019, ApJ 871, 168), colossus ``modelDiemer19`` (median): the c(G, n) table
  inverted at the peak height, the effective power-spectrum slope and growth rate of each halo.

pyHalo then scatters the median log-normally (``numpy.random.lognormal(log c, scatter_dex)``:
natural log, as pyHalo does) and, for warm and ultralight dark matter, multiplies by the
turnover of Bose et al. (2016) / Laroche et al. (2022): ``(1 + c_scale (m_hm/m)^c_power_inner)
^c_power`` times an optional redshift factor; concentrations never fall below 1.2.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

C_MINIMUM = 1.2  # pyHalo's _universal_minimum
_LUDLOW_C = np.logspace(0, 2, 200)
_M_RATIO: dict[float, np.ndarray] = {}


def _colossus() -> Any:
    from colossus.cosmology import cosmology

    return cosmology.getCurrent()


def _einasto_mass_ratio() -> np.ndarray:
    """M(<r_s)/M(<c r_s) of colossus's Einasto profile (alpha = 0.18) on Ludlow's c grid; it
    depends on c alone (colossus rebuilds it at every redshift, equal to rounding)."""
    from colossus.halo import profile_einasto

    key = 0.18
    if key not in _M_RATIO:
        p = profile_einasto.EinastoProfile(M=1e12, c=1.0, z=0.5, mdef="200c", alpha=0.18)
        rs = p.par["rs"]
        _M_RATIO[key] = p.enclosedMassInner(rs) / p.enclosedMassInner(rs * _LUDLOW_C)
    return _M_RATIO[key]


def ludlow16(m200c_h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Ludlow et al. (2016) c200c of masses ``m200c_h`` [Msun/h] at redshifts ``z`` (elementwise).

    colossus evaluates the right-hand side of Ludlow's Eq. 7 on its whole grid of concentrations
    and takes ``np.interp(0, lhs - rhs, c)`` over the valid points; numpy's search reads a dozen
    of them, so here they are computed on demand (numba), with colossus's growth-factor spline
    evaluated by de Boor's recursion as FITPACK does (concentrations equal to colossus's to 1e-13,
    ``tests/test_halo_params.py``)."""
    from colossus.lss import peaks
    from colossus.utils import constants

    cosmo = _colossus()
    m = np.asarray(m200c_h, dtype=float)
    z = np.broadcast_to(np.asarray(z, dtype=float), m.shape)
    f, big_c = 0.02, 650.0
    m_ratio = _einasto_mass_ratio()
    rho_f_rho_c = 200.0 * _LUDLOW_C**3 * m_ratio / big_c
    sigma2_fm = cosmo.sigma(peaks.lagrangianR(f * m), 0.0) ** 2
    sigma2_m = cosmo.sigma(peaks.lagrangianR(m), 0.0) ** 2
    delta_z = constants.DELTA_COLLAPSE / cosmo.growthFactor(z)
    inv = 1.0 / np.sqrt(2.0 * (sigma2_fm - sigma2_m))
    growth = cosmo._zInterpolator("lnzp1_growthfactor", cosmo._growthFactorExact)
    knots, coefs, k = growth._eval_args
    return _ludlow_roots(np.ascontiguousarray(z), delta_z, inv, m_ratio, rho_f_rho_c, _LUDLOW_C, cosmo.Om0, cosmo.Ode0,
                         cosmo.z_min, cosmo.z_max, constants.DELTA_COLLAPSE, knots, coefs, int(k))


@numba.njit(cache=True, error_model="numpy")
def _spline(t: np.ndarray, c: np.ndarray, k: int, x: float) -> float:
    """FITPACK's ``splev`` (extrapolating) of the B-spline (t, c, k) at x: interval search, then
    ``fpbspl``'s Cox-de Boor recursion and the sum, in FITPACK's order."""
    n = t.size
    lo, hi = k, n - k - 1
    ell = lo
    while ell < hi - 1 and x >= t[ell + 1]:
        ell += 1
    h = np.zeros(k + 1)
    hh = np.zeros(k)
    h[0] = 1.0
    for j in range(1, k + 1):
        for i in range(j):
            hh[i] = h[i]
        h[0] = 0.0
        for i in range(1, j + 1):
            li = ell + i
            lj = li - j
            if t[li] == t[lj]:
                h[i] = 0.0
                continue
            fac = hh[i - 1] / (t[li] - t[lj])
            h[i - 1] = h[i - 1] + fac * (t[li] - x)
            h[i] = fac * (x - t[lj])
    out = 0.0
    for j in range(k + 1):
        out += c[ell - k + j] * h[j]
    return out


@numba.njit(cache=True, error_model="numpy")
def _ludlow_entry(j: int, z: float, delta_z: float, inv: float, m_ratio: np.ndarray, rho_f_rho_c: np.ndarray,
                  om0: float, ode0: float, delta_c: float, knots: np.ndarray, coefs: np.ndarray, k: int) -> float:
    """lhs - rhs of Ludlow's equation at grid concentration j (colossus's expressions)."""
    three = 3.0
    t1 = (rho_f_rho_c[j] * (om0 * (1.0 + z) ** three + ode0) - ode0) / om0
    zf = t1 ** (1.0 / three) - 1.0
    delta_zf = delta_c / _spline(knots, coefs, k, math.log(1.0 + zf))
    return m_ratio[j] - math.erfc((delta_zf - delta_z) * inv)


@numba.njit(cache=True, error_model="numpy")
def _ludlow_roots(z: np.ndarray, delta_z: np.ndarray, inv: np.ndarray, m_ratio: np.ndarray, rho_f_rho_c: np.ndarray,
                  c_grid: np.ndarray, om0: float, ode0: float, z_min: float, z_max: float, delta_c: float,
                  knots: np.ndarray, coefs: np.ndarray, k: int) -> np.ndarray:
    """colossus's per-mass root np.interp(0, lhs - rhs, c) over the valid grid points (formation
    redshift inside colossus's range: a contiguous run of the grid, on which lhs - rhs is finite,
    so colossus's removal of NaN points removes none), entries computed on demand; -1
    (colossus's INVALID_CONCENTRATION) where lhs - rhs has no sign change."""
    n_c = c_grid.size
    out = np.empty(z.size)
    values = np.empty(n_c)
    three = 3.0
    for i in range(z.size):
        first, last = -1, -1
        for j in range(n_c):
            t1 = (rho_f_rho_c[j] * (om0 * (1.0 + z[i]) ** three + ode0) - ode0) / om0
            zf = t1 ** (1.0 / three) - 1.0 if t1 > 0.0 else -10.0
            if zf > z_min and zf < z_max:
                if first < 0:
                    first = j
                last = j
        values[:] = np.nan
        if first < 0 or not np.isfinite(inv[i]):
            out[i] = -1.0
            continue
        lo = _ludlow_entry(first, z[i], delta_z[i], inv[i], m_ratio, rho_f_rho_c, om0, ode0, delta_c, knots, coefs, k)
        hi = _ludlow_entry(last, z[i], delta_z[i], inv[i], m_ratio, rho_f_rho_c, om0, ode0, delta_c, knots, coefs, k)
        values[first], values[last] = lo, hi
        if not (lo < 0.0 and hi > 0.0):  # colossus's check that both signs occur, over all points
            neg = pos = False
            for j in range(first, last + 1):
                v = _ludlow_entry(j, z[i], delta_z[i], inv[i], m_ratio, rho_f_rho_c, om0, ode0, delta_c, knots, coefs, k)
                values[j] = v
                neg = neg or v < 0.0
                pos = pos or v > 0.0
            if not (neg and pos):
                out[i] = -1.0
                continue
        out[i] = _lazy_interp(first, last - first + 1, values, z[i], delta_z[i], inv[i], m_ratio, rho_f_rho_c, c_grid,
                              om0, ode0, delta_c, knots, coefs, k)
    return out


@numba.njit(cache=True, error_model="numpy")
def _lazy_interp(first: int, n: int, values: np.ndarray, z: float, delta_z: float, inv: float, m_ratio: np.ndarray,
                 rho_f_rho_c: np.ndarray, c_grid: np.ndarray, om0: float, ode0: float, delta_c: float,
                 knots: np.ndarray, coefs: np.ndarray, k: int) -> float:
    """``np.interp(0, xp, fp)`` on the valid run of Ludlow entries (``xp = values[first:first+n]``,
    NaN where not computed yet), step for step as numpy's C code does it (its binary search with
    guess 0 and 8-element cache window, then the slope formula; the result is numpy's also where
    xp is not monotonic, as here), computing only the entries the search reads."""
    xp = values[first:first + n]
    fp = c_grid[first:first + n]

    def get(j: int) -> float:
        if np.isnan(xp[j]):
            xp[j] = _ludlow_entry(first + j, z, delta_z, inv, m_ratio, rho_f_rho_c, om0, ode0, delta_c, knots, coefs, k)
        return xp[j]

    x = 0.0
    if x > get(n - 1):
        return fp[n - 1]
    if x < get(0):
        return fp[0]
    if n <= 4:
        j = 0
        while j < n and x >= get(j):
            j += 1
        j -= 1
    else:
        guess, imin, imax, j = 1, 0, n, -2
        if x < get(guess):
            if x < get(guess - 1):
                imax = guess - 1
            else:
                j = guess - 1
        elif x < get(guess + 1):
            j = guess
        elif x < get(guess + 2):
            j = guess + 1
        else:
            imin = guess + 2
            if guess < n - 8 - 1 and x < get(guess + 8):
                imax = guess + 8
        if j == -2:
            while imin < imax:
                imid = imin + ((imax - imin) >> 1)
                if x >= get(imid):
                    imin = imid + 1
                else:
                    imax = imid
            j = imin - 1
    if j == n - 1:
        return fp[j]
    if get(j) == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (get(j + 1) - get(j))
    out = slope * (x - get(j)) + fp[j]
    if np.isnan(out):
        out = slope * (x - get(j + 1)) + fp[j + 1]
        if np.isnan(out) and fp[j] == fp[j + 1]:
            out = fp[j]
    return out


def _diemer19_tables() -> tuple[Any, Any, Any]:
    from colossus.halo import concentration as colossus_concentration

    colossus_concentration.modelDiemer19(1e10, 0.5)  # builds or loads colossus's c(G, n) table
    store = colossus_concentration._getStorageUser()
    return tuple(store.getStoredObject(f"diemer19_{name}", interpolator=True, store_interpolator=True)
                 for name in ("Gc", "Gmin", "Gmax"))


def diemer19(m200c_h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Diemer & Joyce (2019) median c200c of masses ``m200c_h`` [Msun/h] at redshifts ``z``."""
    from colossus.lss import peaks
    from colossus.utils import constants

    cosmo = _colossus()
    m = np.asarray(m200c_h, dtype=float)
    z = np.broadcast_to(np.asarray(z, dtype=float), m.shape).copy()
    kappa, a0, a1, b0, b1, c_alpha = 0.41, 2.45, 1.82, 3.20, 2.30, 0.21
    r_l = peaks.lagrangianR(m)
    n_eff = -2.0 * cosmo.sigma(kappa * r_l, 0.0, derivative=True) - 3.0
    d = cosmo.growthFactor(z, derivative=0)
    alpha_eff = -cosmo.growthFactor(z, derivative=1) * (1.0 + z) / d
    sigma = cosmo.sigma(r_l, 0.0)
    sigma *= cosmo.growthFactor(z)
    nu = constants.DELTA_COLLAPSE / sigma
    a_n = a0 * (1.0 + a1 * (n_eff + 3.0))
    b_n = b0 * (1.0 + b1 * (n_eff + 3.0))
    c_a = 1.0 - c_alpha * (1.0 - alpha_eff)
    rhs = np.log10(a_n / nu * (1.0 + nu**2 / b_n))
    interp_gc, interp_gmin, interp_gmax = _diemer19_tables()
    mask = (rhs >= interp_gmin(n_eff)) & (rhs <= interp_gmax(n_eff))
    c = 10 ** interp_gc(rhs, n_eff, grid=False) * c_a
    c[~mask] = -1.0
    return c


def median(model: Any, m: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Median concentration of pyHalo's CDM concentration ``model`` (an instance of its
    ConcentrationLudlow or ConcentrationDiemerJoyce) for masses ``m`` [Msun] at ``z``."""
    from pyHalo.Halos import concentration as pc

    if getattr(model, "_mdef", "200c") != "200c":
        raise NotImplementedError(f"concentration mass definition {model._mdef!r}")
    m_h = np.asarray(m, dtype=float) * model._cosmo.h
    if type(model) is pc.ConcentrationLudlow:
        return ludlow16(m_h, z)
    if type(model) is pc.ConcentrationDiemerJoyce:
        return diemer19(m_h, z)
    raise NotImplementedError(f"concentration model {type(model).__name__}")


def supported(model: Any) -> bool:
    """Whether :func:`draw` reproduces pyHalo's ``model.nfw_concentration``."""
    from pyHalo.Halos import concentration as pc

    if type(model) is pc.ConcentrationConstant:
        return True
    if type(model) is pc.ConcentrationWDMPolynomial:
        return supported(model._cdm_concentration)
    return type(model) in (pc.ConcentrationLudlow, pc.ConcentrationDiemerJoyce) and getattr(model, "_mdef", "200c") == "200c"


def gaussians_per_halo(model: Any) -> int:
    """How many standard normals ``model.nfw_concentration`` draws for one halo (0 or 1)."""
    from pyHalo.Halos import concentration as pc

    if type(model) is pc.ConcentrationConstant:
        return 0
    if type(model) is pc.ConcentrationWDMPolynomial:
        return gaussians_per_halo(model._cdm_concentration)
    return 1 if model._scatter else 0


def draw(model: Any, m: np.ndarray, z: np.ndarray, gauss: np.ndarray | None) -> np.ndarray:
    """pyHalo's ``model.nfw_concentration(m, z)`` for every halo, with the standard normals
    ``gauss`` it would have drawn (one per halo where the model scatters)."""
    from pyHalo.Halos import concentration as pc

    m = np.asarray(m, dtype=float)
    z = np.asarray(z, dtype=float)
    if type(model) is pc.ConcentrationConstant:
        return np.full(m.shape, float(model._c))
    if type(model) is pc.ConcentrationWDMPolynomial:
        c = draw(model._cdm_concentration, m, z, gauss) * _turnover(model, m, z)
        return np.maximum(c, C_MINIMUM)
    c = median(model, m, z)
    if model._scatter:
        sigma = model._scatter_dex + model._scatter_dex_z_dep * z
        log_c = np.log(c)
        # numpy's legacy lognormal: exp(mean + sigma * gauss), with the C library's exp
        c = np.array([math.exp(mu + s * g) for mu, s, g in zip(log_c.tolist(), np.broadcast_to(sigma, m.shape).tolist(),
                                                                 np.asarray(gauss).tolist())])
    return np.maximum(c, C_MINIMUM)


def _turnover(model: Any, m: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``ConcentrationWDMPolynomial.suppression`` (Bose et al. 2016 form) for arrays."""
    mhm = 10**model._log_mc
    rescale_factor = (1 + model._c_scale * (mhm / m) ** model._c_power_inner) ** model._c_power
    redshift_factor = (1 + z) ** (0.026 * z - 0.04) if model._mc_suppression_redshift_evolution else 1.0
    return redshift_factor * rescale_factor
