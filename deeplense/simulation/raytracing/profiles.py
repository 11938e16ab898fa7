"""Exact deflections of lenstronomy 1.14.2's profiles for one (ray, halo) pair (numba).

Each ``*_deflection`` returns the factor s with (alpha_x, alpha_y) = s (dx, dy), (dx, dy) the
ray's offset from the halo centre in arcsec, following lenstronomy's formulas and clamps step by
step (the profile classes named in each docstring). The dimensionless functions are those of:

- TNFW: Baltz, Marshall & Oguri (2009, JCAP 01, 015), lenstronomy ``TNFW``;
- TNFWC (cored, truncated): lenstronomy ``TNFWC`` (pyHalo's core-collapsed SIDM halos);
- CNFW (cored NFW): lenstronomy ``CNFW``;
- ULDM soliton (Schive et al. 2014): lenstronomy ``Uldm``;
- point mass: lenstronomy ``PointMass``.
"""

from __future__ import annotations

import math

import numba

LN_HALF = math.log(0.5)


@numba.njit(cache=True, inline="always", error_model="numpy")
def nfw_f(x: float) -> float:
    """arctanh(sqrt(1-x^2))/sqrt(1-x^2) (x < 1), arctan(sqrt(x^2-1))/sqrt(x^2-1) (x > 1), 1 at 1."""
    if x < 1.0:
        s = (1.0 - x * x) ** 0.5
        return math.atanh(s) / s
    if x > 1.0:
        s = (x * x - 1.0) ** 0.5
        return math.atan(s) / s
    return 1.0


@numba.njit(cache=True, error_model="numpy")
def tnfw_g(x: float, tau: float) -> float:
    """lenstronomy ``TNFW._g`` without its clamp (x > 0): the enclosed projected mass function."""
    t2 = tau * tau
    root = math.sqrt(t2 + x * x)
    ell = math.log(x / (tau + root))
    return t2 / ((t2 + 1.0) * (t2 + 1.0)) * ((t2 + 1.0 + 2.0 * (x * x - 1.0)) * nfw_f(x) + tau * math.pi
                                             + (t2 - 1.0) * math.log(tau) + root * (-math.pi + ell * (t2 - 1.0) / tau))


@numba.njit(cache=True, error_model="numpy")
def tnfw_kappa(x: float, tau: float) -> float:
    """lenstronomy ``TNFW._F`` without its clamp: the convergence function; d tnfw_g / d(x^2) is
    half of it (the projected mass grows by 2 pi R Sigma)."""
    t2 = tau * tau
    f = nfw_f(x)
    b = (t2 + 1.0) / 3.0 if x == 1.0 else (t2 + 1.0) / (x * x - 1.0) * (1.0 - f)
    root = math.sqrt(t2 + x * x)
    return t2 / ((t2 + 1.0) * (t2 + 1.0)) * (b + 2.0 * f - math.pi / root
                                             + (t2 - 1.0) / (tau * root) * math.log(x / (root + tau)))


@numba.njit(cache=True, error_model="numpy")
def tnfw_deflection(dx: float, dy: float, rs: float, alpha_rs: float, r_trunc: float) -> float:
    """lenstronomy ``TNFW.derivatives``: R >= 0.001 Rs, x >= 0.001, rho0 from the NFW relation."""
    r = max(math.sqrt(dx * dx + dy * dy), 0.001 * rs)
    x = max(r / rs, 0.001)
    rho0 = alpha_rs / (4.0 * rs * rs * (1.0 + LN_HALF))
    return 4.0 * rho0 * rs * tnfw_g(x, r_trunc / rs) / (x * x)


@numba.njit(cache=True, inline="always", error_model="numpy")
def tnfwc_u1(x: float, b: float, t: float) -> float:
    t2x2 = t * t + x * x
    b2x2 = b * b + x * x
    if t > b:
        return math.acosh(math.sqrt(t2x2 / b2x2)) / math.sqrt(t2x2 * (t * t - b * b))
    return math.acos(math.sqrt(t2x2 / b2x2)) / math.sqrt(t2x2 * (b * b - t * t))


@numba.njit(cache=True, error_model="numpy")
def tnfwc_g(x: float, b: float, t: float) -> float:
    """lenstronomy ``TNFWC._g`` (core b = r_core/Rs, truncation t = r_trunc/Rs)."""
    if b == t:
        t += 1e-3
    pre = t * t / (t * t - 1.0)
    return pre * (-(t * t + x * x) * tnfwc_u1(x, b, t) + t * t * tnfwc_u1(0.0, b, t)
                  + (1.0 + x * x) * tnfwc_u1(x, b, 1.0) - tnfwc_u1(0.0, b, 1.0))


@numba.njit(cache=True, error_model="numpy")
def tnfwc_kappa(x: float, b: float, t: float) -> float:
    """lenstronomy ``TNFWC._f``: the convergence function (d tnfwc_g / d(x^2) is half of it)."""
    return t * t / (t * t - 1.0) * (tnfwc_u1(x, b, 1.0) - tnfwc_u1(x, b, t))


@numba.njit(cache=True, error_model="numpy")
def tnfwc_deflection(dx: float, dy: float, rs: float, alpha_rs: float, r_core: float, r_trunc: float) -> float:
    """lenstronomy ``TNFWC.derivatives``: rho0 from g(1), then Rs >= 1e-8 and R >= 1e-8."""
    rho0 = alpha_rs / (4.0 * rs * rs * tnfwc_g(1.0, r_core / rs, r_trunc / rs))
    rs = max(rs, 0.00000001)
    r = max(math.sqrt(dx * dx + dy * dy), 0.00000001)
    x = r / rs
    return 4.0 * rho0 * rs * r * tnfwc_g(x, r_core / rs, r_trunc / rs) / (x * x) / r


@numba.njit(cache=True, error_model="numpy")
def cnfw_g(x: float, b: float) -> float:
    """lenstronomy ``CNFW._G`` (array branch)."""
    c = 0.000001
    if b == 1.0:
        b = 1.0 + c
    b2 = b * b
    x2 = x * x
    fac = (1.0 - b) * (1.0 - b)
    if abs(x - b) <= c:
        out = (2.0 * (1.0 - 2.0 * b + b * b2) * nfw_f(b) + fac * (-1.38692 + math.log(b2)) - b2 * math.log(b2)) / fac
    else:
        out = (fac * math.log(0.25 * x2) - b2 * math.log(b2) + 2.0 * (b2 - x2) * nfw_f(x / b)
               + 2.0 * (1.0 + b * (x2 - 2.0)) * nfw_f(x)) / fac
    return 0.5 * out


@numba.njit(cache=True, error_model="numpy")
def cnfw_kappa(x: float, b: float) -> float:
    """The CNFW convergence function (lenstronomy ``CNFW._F``'s general formula) without its
    shifts of x = 1 and b = 1 by 1e-3: at x = 1 its limit b + (1 - b)/3 replaces the 0/0;
    d cnfw_g / d(x^2) is half of it."""
    if x == 1.0:
        inner = b + (1.0 - b) / 3.0
    else:
        inner = (1.0 - b - (1.0 - b * x * x) * nfw_f(x)) / (x * x - 1.0)
    return (inner - nfw_f(x / b)) / ((b - 1.0) * (b - 1.0))


@numba.njit(cache=True, error_model="numpy")
def cnfw_deflection(dx: float, dy: float, rs: float, alpha_rs: float, r_core: float) -> float:
    """lenstronomy ``CNFW.derivatives``: rho0 from G(1), then Rs >= 1e-7, R >= 0.001, x >= 0.001."""
    rho0 = alpha_rs / (4.0 * rs * rs * cnfw_g(1.0, r_core / rs))
    rs = max(rs, 0.0000001)
    r = max(math.sqrt(dx * dx + dy * dy), 0.001)
    x = max(r / rs, 0.001)
    return 4.0 * rho0 * rs * rs * cnfw_g(x, r_core / rs) / x / r


@numba.njit(cache=True, error_model="numpy")
def uldm_g(q: float, slope: float) -> float:
    """1 - (1 + a q)^-(slope - 3/2), q = (R / theta_c)^2: the soliton's deflection times R^2, in
    units of its large-radius value (lenstronomy ``Uldm.alpha_radial``)."""
    a_factor = 0.5 ** (-1.0 / slope) - 1.0
    return 1.0 - 1.0 / (1.0 + a_factor * q) ** (slope - 1.5)


@numba.njit(cache=True, error_model="numpy")
def uldm_deflection(dx: float, dy: float, kappa_0: float, theta_c: float, slope: float) -> float:
    """lenstronomy ``Uldm.derivatives`` (R >= 1e-8)."""
    r = max(math.sqrt(dx * dx + dy * dy), 0.00000001)
    a_factor = 0.5 ** (-1.0 / slope) - 1.0
    prefactor = 2.0 / (2.0 * slope - 3.0) * kappa_0 * theta_c * theta_c / a_factor
    denominator = (1.0 + a_factor * r * r / (theta_c * theta_c)) ** (slope - 1.5)
    return prefactor / r * (1.0 - 1.0 / denominator) / r


@numba.njit(cache=True, error_model="numpy", inline="always")
def point_mass_deflection(dx: float, dy: float, theta_e: float) -> float:
    """lenstronomy ``PointMass.derivatives`` (r >= 1e-25), from r^2 without its square root."""
    return theta_e * theta_e / max(dx * dx + dy * dy, 1e-50)
