"""pyHalo's ultralight dark matter (ULDM) halos for arrays of halos.

Each halo of pyHalo's ``ULDM`` preset is an NFW halo with a soliton core (Schive et al. 2014,
PRL 113, 261302; Laroche et al. 2022): a ULDM soliton (core radius from Schive's Eq. 3, central
density Eq. 7) plus a cored NFW (``CNFW``) whose core radius and soliton amplitude pyHalo fits so
that the composite has the halo's mass inside r200 and a continuous central density
(``ULDMFieldHalo._rescaled_cnfw_params``, a bounded Nelder-Mead fit per halo). Here every step is
done for all halos at once; the fit runs scipy's Nelder-Mead in lockstep (:mod:`.uldm_fit`) on an
objective compiled with numba from lenstronomy's formulas. The fit's simplex moves on comparisons
of objective values at distinct points, which differ by far more than the last-bit differences
between numba's and numpy's logarithms, so the fitted factors are pyHalo's
(``tests/test_halo_params.py``); the one-off quantities are computed with the C library's
``pow``, as Python and numpy scalars use it.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numba
import numpy as np

from deeplense.physics.halos import concentration, legacy_stream, nfw, truncation, uldm_fit

def _pow(base: Any, exponent: Any) -> np.ndarray:
    """Elementwise ``base ** exponent`` with the C library's pow, as Python floats and numpy
    scalars compute it (NaN where a negative base meets a fractional exponent, as numpy)."""
    b = np.asarray(base, dtype=float)
    if np.ndim(exponent) == 0:
        e = float(exponent)
        whole = e == int(e)
        out = [x**e if whole or x >= 0.0 else math.nan for x in b.ravel().tolist()]
        return np.array(out, dtype=float).reshape(b.shape)
    b, e_arr = np.broadcast_arrays(b, np.asarray(exponent, dtype=float))
    out = [x**y if x >= 0.0 or y == int(y) else math.nan for x, y in zip(b.ravel().tolist(), e_arr.ravel().tolist())]
    return np.array(out, dtype=float).reshape(b.shape)


def is_uldm(halo: Any) -> bool:
    """A pyHalo ULDM halo (field or subhalo)."""
    from pyHalo.Halos.HaloModels.ULDM import ULDMFieldHalo, ULDMSubhalo

    return type(halo) in (ULDMFieldHalo, ULDMSubhalo)


def uncovered(halos: list) -> Counter[str]:
    """The halos among ``halos`` that are not fresh pyHalo ULDM halos with a concentration model
    reproduced here, as descriptions and counts (empty: the fast path covers them all)."""
    from pyHalo.Halos.HaloModels.ULDM import ULDMFieldHalo, ULDMSubhalo

    out: Counter[str] = Counter()
    for h in halos:
        name = type(h).__name__
        if type(h) not in (ULDMFieldHalo, ULDMSubhalo) or not concentration.supported(h._concentration_class):
            out[f"{name} ({type(getattr(h, '_concentration_class', None)).__name__})"] += 1
        elif any(hasattr(h, attr) for attr in ("_c", "_z_infall", "_zeval", "_profile_args")):
            out[f"{name} already evaluated by pyHalo"] += 1
        elif h.is_subhalo and not truncation.infall_supported(h.lens_cosmo._z_infall_model):
            out[f"{name} with infall model {type(h.lens_cosmo._z_infall_model).__name__}"] += 1
    return out


def pattern(halo: Any) -> tuple[int, ...]:
    """A subhalo draws its infall redshift (uniform), then its concentration scatter (Gaussian);
    a field halo only the latter."""
    gauss = (legacy_stream.GAUSS,) * concentration.gaussians_per_halo(halo._concentration_class)
    return (legacy_stream.UNIFORM, *gauss) if halo.is_subhalo else gauss


def _zeta(astropy: Any, z: np.ndarray) -> np.ndarray:
    om = astropy.Om(z)
    return (18 * np.pi**2 + 82 * (om - 1) - 39 * (om - 1) ** 2) / om


def soliton(lens_cosmo: Any, m: np.ndarray, z: np.ndarray, log10_m_uldm: float, plaw: float) -> tuple[np.ndarray, np.ndarray]:
    """(theta_c [arcsec], kappa_0) of the soliton (``ULDMFieldHalo._uldm_args``; pyHalo uses the
    main deflector's critical density and distance for every plane, as here)."""
    import lenstronomy.Util.constants as const

    a = 1 / (1 + z)
    zeta = _zeta(lens_cosmo.cosmo.astropy, z) / _zeta(lens_cosmo.cosmo.astropy, 0)
    m22 = 10 ** (log10_m_uldm + 22)
    m9 = _pow(10, np.log10(m) - 9)
    r_c = 1.6 * m22 ** (-1) * _pow(a, 1 / 2) * _pow(zeta, -1 / 6) * _pow(m9, -plaw)
    m23 = 10 ** (log10_m_uldm + 23)
    rho_c = 1.9 * _pow(a, -1) * m23 ** (-2) * _pow(r_c / a, -4)
    r_c = r_c * 10**3
    sigma_crit = lens_cosmo.sigma_crit_lensing * 10 ** (-12)
    d_lens = lens_cosmo.D_d * 10**6
    theta_c = r_c / d_lens / const.arcsec
    kappa_0 = 429 * np.pi * rho_c * r_c / (2048 * np.sqrt(0.091) * sigma_crit)
    return theta_c, kappa_0


def _nfw_func(x: np.ndarray) -> np.ndarray:
    """lenstronomy ``CNFW._nfw_func`` for scalars, elementwise."""
    out = np.ones_like(x)
    x2 = _pow(x, 2)
    lo, hi = x < 1, x > 1
    if lo.any():
        out[lo] = _pow(1 - x2[lo], -0.5) * np.arctanh(_pow(1 - x2[lo], 0.5))
    if hi.any():
        out[hi] = _pow(x2[hi] - 1, -0.5) * np.arctan(_pow(x2[hi] - 1, 0.5))
    return out


def _cnfw_g1(b: np.ndarray) -> np.ndarray:
    """lenstronomy ``CNFW._G(1.0, b)`` (scalar branch) elementwise."""
    c = 0.000001
    b = np.where(b == 1, 1 + c, b)
    b2 = _pow(b, 2)
    fac = _pow(1 - b, 2)
    prefac = _pow(fac, -1)
    out = prefac * (fac * np.log(0.25 * 1.0) - b2 * np.log(b2) + 2 * (b2 - 1.0) * _nfw_func(1.0 * _pow(b, -1))
                    + 2 * (1 + b * (1.0 - 2)) * 1)
    near = np.abs(1.0 - b) <= c
    if near.any():
        bn = b[near]
        out[near] = prefac[near] * (2 * (1 - 2 * bn + _pow(bn, 3)) * _nfw_func(bn) + fac[near] * (-1.38692 + np.log(b2[near]))
                                    - b2[near] * np.log(b2[near]))
    return 0.5 * out


class _CNFWMass:
    """lenstronomy ``CNFW.mass_3d_lens(r, Rs, alpha_Rs, r_core)`` for scalar arguments,
    elementwise, with the terms that do not depend on the core radius computed once."""

    def __init__(self, r: np.ndarray, rs: np.ndarray, alpha_rs: np.ndarray) -> None:
        self.rs, self.alpha_rs = rs, alpha_rs
        self.inv_rs = _pow(rs, -1)
        self.four_rs2 = 4 * _pow(rs, 2)
        self.four_pi_rs3 = 4 * np.pi * _pow(rs, 3)
        self.x = r * self.inv_rs
        self.x_term = self.x * _pow(1 + self.x, -1)
        self.log_term = np.log(1 / (1 + self.x))

    def __call__(self, r_core: np.ndarray, which: Any = slice(None)) -> np.ndarray:
        b = r_core * self.inv_rs[which]
        rho0 = self.alpha_rs[which] * _pow(self.four_rs2[which] * _cnfw_g1(b), -1)
        m0 = self.four_pi_rs3[which] * rho0
        return m0 * (self.x_term[which] * _pow(-1 + b, -1)
                     + _pow(-1 + b, -2) * ((2 * b - 1) * self.log_term[which] + _pow(b, 2) * np.log(self.x[which] / b + 1)))


def cnfw_central_density(rs: np.ndarray, alpha_rs: np.ndarray, r_core: np.ndarray) -> np.ndarray:
    """lenstronomy ``CNFW.density_lens(0, Rs, alpha_Rs, r_core)`` for scalars, elementwise."""
    b = r_core * _pow(rs, -1)
    rho0 = alpha_rs * _pow(4 * _pow(rs, 2) * _cnfw_g1(b), -1)
    m0 = 4 * np.pi * rho0 * _pow(rs, 3)
    return (m0 / 4 / np.pi) * _pow((r_core + 0) * _pow(0 + rs, 2), -1)


def uldm_mass_3d(r: np.ndarray, kappa_0: np.ndarray, theta_c: np.ndarray, slope: float = 8) -> np.ndarray:
    """lenstronomy ``Uldm.mass_3d`` (slope 8) for scalars, elementwise."""
    from scipy.special import gamma, hyp2f1

    a_factor_sqrt = np.sqrt(0.5 ** (-1 / slope) - 1)
    rhotilde = kappa_0 * (gamma(slope) / gamma(slope - 1 / 2) * a_factor_sqrt / np.sqrt(np.pi)) / theta_c
    a_factor = 0.5 ** (-1.0 / slope) - 1
    prefactor = 4.0 * np.pi * rhotilde * _pow(theta_c, 3) / (a_factor) ** (1.5)
    x = r / theta_c * np.sqrt(a_factor)

    def integral(v: Any) -> Any:
        return 1.0 / 3 * _pow(v, 3) * np.real(hyp2f1(3.0 / 2, slope, 5.0 / 2, -_pow(v, 2)))

    return prefactor * (integral(x) - integral(np.zeros_like(x)))


def uldm_central_density(kappa_0: np.ndarray, theta_c: np.ndarray, slope: float = 8) -> np.ndarray:
    """lenstronomy ``Uldm.density_lens(0, kappa_0, theta_c)`` for scalars, elementwise."""
    from scipy.special import gamma

    a_factor_sqrt = np.sqrt(0.5 ** (-1 / slope) - 1)
    rhotilde = kappa_0 * (gamma(slope) / gamma(slope - 1 / 2) * a_factor_sqrt / np.sqrt(np.pi)) / theta_c
    a_factor = 0.5 ** (-1.0 / slope) - 1
    return rhotilde / _pow(1 + a_factor * _pow(0 / theta_c, 2), slope)


@numba.njit(cache=True, error_model="numpy")
def _nfw_func_scalar(x: float) -> float:
    if x < 1:
        return (1 - x**2) ** -0.5 * np.arctanh((1 - x**2) ** 0.5)
    if x > 1:
        return (x**2 - 1) ** -0.5 * np.arctan((x**2 - 1) ** 0.5)
    return 1.0


@numba.njit(cache=True, error_model="numpy")
def _cnfw_g1_scalar(b: float) -> float:
    c = 0.000001
    if b == 1:
        b = 1 + c
    b2 = b**2
    fac = (1 - b) ** 2
    prefac = fac**-1
    if abs(1.0 - b) <= c:
        out = prefac * (2 * (1 - 2 * b + b**3) * _nfw_func_scalar(b) + fac * (-1.38692 + np.log(b2)) - b2 * np.log(b2))
    else:
        out = prefac * (fac * np.log(0.25) - b2 * np.log(b2) + 2 * (b2 - 1.0) * _nfw_func_scalar(b**-1)
                        + 2 * (1 + b * (1.0 - 2)))
    return 0.5 * out


@numba.njit(cache=True, error_model="numpy")
def _objective(points: np.ndarray, which: np.ndarray, rs: np.ndarray, alpha_rs: np.ndarray, r200: np.ndarray,
               m: np.ndarray, m_uldm: np.ndarray, rhos: np.ndarray, rho_target: np.ndarray) -> np.ndarray:
    """pyHalo's ``ULDMFieldHalo._function_to_minimize`` (CNFW mass inside r200 plus the scaled
    soliton mass against the halo mass, plus 20 times the central-density mismatch), with
    lenstronomy's CNFW formulas, for problems ``which`` at ``points``."""
    out = np.empty(which.size)
    for i in range(which.size):
        k = which[i]
        beta, q = points[i, 0], points[i, 1]
        b = (beta * rs[k]) * rs[k] ** -1
        rho0 = alpha_rs[k] * (4 * rs[k] ** 2 * _cnfw_g1_scalar(b)) ** -1
        x = r200[k] * rs[k] ** -1
        m0 = 4 * np.pi * rs[k] ** 3 * rho0
        m_nfw = m0 * (x * (1 + x) ** -1 * (-1 + b) ** -1
                      + (-1 + b) ** -2 * ((2 * b - 1) * np.log(1 / (1 + x)) + b**2 * np.log(x / b + 1))) / m[k]
        penalty = abs(m_nfw + q * m_uldm[k] / m[k] - 1)
        if np.isnan(penalty):
            penalty = 1e12
        out[i] = penalty + 20 * abs(rhos[k] - beta * rho_target[k] * (q - 1))
    return out


def kwargs(halos: list, lens_cosmo: Any, values: np.ndarray, offsets: np.ndarray) -> list[list[tuple[str, dict]]]:
    """[("CNFW", kwargs), ("ULDM", kwargs)] of every halo (``ULDMFieldHalo.lenstronomy_params``),
    from their draws (halo i's start at ``values[offsets[i]]``)."""
    m = np.array([h.mass for h in halos], dtype=float)
    z = np.array([h.z for h in halos], dtype=float)
    sub = np.array([bool(h.is_subhalo) for h in halos])
    args = halos[0]._args
    if any(h._args is not args and h._args != args for h in halos):
        raise NotImplementedError("ULDM halos with different profile arguments")
    z_eval, c = z.copy(), np.empty(m.size)
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, h in enumerate(halos):
        groups.setdefault((id(h._concentration_class), bool(h.is_subhalo)), []).append(i)
    for (_, is_sub), members in groups.items():
        idx = np.array(members)
        model = halos[members[0]]._concentration_class
        n_gauss = concentration.gaussians_per_halo(model)
        d = values[offsets[idx][:, None] + np.arange(n_gauss + int(is_sub))[None, :]]
        if is_sub:
            z_eval[idx] = truncation.infall_redshift(lens_cosmo._z_infall_model, m[idx], d[:, 0])
        gauss = d[:, -1] if n_gauss else None
        c[idx] = concentration.draw(model, m[idx], z_eval[idx], gauss)
    theta_c, kappa_0 = soliton(lens_cosmo, m, z, args["log10_m_uldm"], args["uldm_plaw"])
    rho_s, rs_kpc, _ = nfw.params_physical(lens_cosmo, m, c, z_eval)
    planes = nfw.PlaneQuantities(lens_cosmo, z)
    rs, alpha_rs = nfw.physical_to_angle(planes, rho_s, rs_kpc)
    r_core = 3 * theta_c
    r200 = c * rs
    rho_target = uldm_central_density(kappa_0, theta_c)
    rhos = cnfw_central_density(rs, alpha_rs, r_core)
    sigma_crit = lens_cosmo.sigmacrit
    m_uldm = uldm_mass_3d(r200, kappa_0 * sigma_crit, theta_c)
    cnfw_mass = _CNFWMass(r200, rs, alpha_rs * sigma_crit)
    alpha_lens = alpha_rs * sigma_crit

    def objective(points: np.ndarray, which: np.ndarray) -> np.ndarray:
        return _objective(points, which, rs, alpha_lens, r200, m, m_uldm, rhos, rho_target)

    fit = uldm_fit.minimize(objective, np.array([0.9, 1.1]), ((0.5, 10), (0.5, 1.5)), 0.001, m.size)
    if (fit < 0).any():
        raise ValueError("negative CNFW core radius or ULDM mass in pyHalo's fit")
    r_core = r_core / fit[:, 0]
    kappa_0 = kappa_0 / fit[:, 1]
    if args["scale_nfw"]:
        m_nfw = cnfw_mass(r_core)
        m_sol = uldm_mass_3d(r200, kappa_0 * sigma_crit, theta_c)
        alpha_rs = alpha_rs * (m / (m_nfw + m_sol))
    x, y = np.round([h.x for h in halos], 4), np.round([h.y for h in halos], 4)
    return [[("CNFW", {"alpha_Rs": a, "Rs": s, "center_x": px, "center_y": py, "r_core": rc}),
             ("ULDM", {"theta_c": t, "kappa_0": k, "center_x": px, "center_y": py})]
            for a, s, px, py, rc, t, k in zip(alpha_rs.tolist(), rs.tolist(), x.tolist(), y.tolist(), r_core.tolist(),
                                              theta_c.tolist(), kappa_0.tolist())]
