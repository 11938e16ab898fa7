"""pyHalo's SIDM core-collapse recipe for arrays of halos.

``SIDM_core_collapse`` (Gilman et al. 2021, 2023) draws a CDM realization, picks collapsed halos
per mass bin (one uniform per halo, left to pyHalo) and turns each picked TNFW halo into a cored,
truncated profile (``TNFWC``, lenstronomy's cored truncated NFW) with scale radius
``x_core_halo`` times the NFW one, core radius 0.99 of that, the TNFW truncation radius and
the normalisation that conserves the TNFW mass inside r200 (pyHalo's ``TNFWCHaloParametric``:
a 1000-point trapezoidal integral of the 3D density). pyHalo does this halo by halo inside
``RealizationExtensions.add_core_collapsed_halos``; :func:`add_core_collapsed_halos` does it for
all picked halos at once, drawing their random numbers first and in index order as pyHalo does,
and returns pyHalo ``TNFWCHaloParametric`` objects whose parameters are already set.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from deeplense.physics.halos import nfw, paths, population


def _tnfw_mass_3d(r: np.ndarray, rs: np.ndarray, rho0: np.ndarray, r_trunc: np.ndarray) -> np.ndarray:
    """lenstronomy ``TNFW.mass_3d`` (pyHalo passes r_trunc / r_s as its truncation argument)."""
    x = np.maximum(r * rs**-1, 0.001)
    t = r_trunc
    func = (t**2 * (-2 * x * (1 + t**2) + 4 * (1 + x) * t * np.arctan(x / t)
                    - 2 * (1 + x) * (-1 + t**2) * np.log(rs) + 2 * (1 + x) * (-1 + t**2) * np.log(rs * (1 + x))
                    + 2 * (1 + x) * (-1 + t**2) * np.log(rs * t) - (1 + x) * (-1 + t**2) * np.log(rs**2 * (x**2 + t**2)))
            ) / (2.0 * (1 + x) * (1 + t**2) ** 2)
    return 4 * np.pi * rs**3 * rho0 * func


def _u1(x: Any, b: np.ndarray, t: Any) -> np.ndarray:
    """lenstronomy ``TNFWC._u1`` elementwise (arccosh where t > b, else arccos)."""
    t2x2 = t**2 + x**2
    b2x2 = b**2 + x**2
    b2mt2 = b**2 - t**2
    above = t > b
    arg = np.sqrt(t2x2 / b2x2)
    with np.errstate(invalid="ignore"):
        func = np.where(above, np.arccosh(arg), np.arccos(arg))
        return func / np.sqrt(t2x2 * np.where(above, -b2mt2, b2mt2))


def tnfwc_g(x: Any, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """lenstronomy ``TNFWC._g``: the enclosed projected mass function, elementwise."""
    t = np.where(b == t, t + 1e-3, t)
    prefactor = t**2 / (t**2 - 1)
    return prefactor * (-(t**2 + x**2) * _u1(x, b, t) + (t**2 + 0.0**2) * _u1(0.0, b, t)
                        + (1.0**2 + x**2) * _u1(x, b, 1.0) - (1.0**2 + 0.0**2) * _u1(0.0, b, 1.0))


@numba.njit(cache=True, error_model="numpy")
def _mass_within_c(rs0: np.ndarray, log10_c: np.ndarray, kpa: np.ndarray, factor: np.ndarray, rho0: np.ndarray,
                   rs: np.ndarray, rc: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """pyHalo's 3D mass of each cored profile with alpha_Rs = 1: the trapezoidal integral of
    4 pi r^2 rho(r) over 1000 points log-spaced from 1e-4 r_s to c r_s (``TNFWCHaloParametric.
    profile_args``), without its 1000-point temporaries (radii by a geometric progression, sums
    in order; the normalisation it gives equals pyHalo's to 1e-10, ``tests/test_halo_params.py``)."""
    out = np.empty(rs0.size)
    n = 1000
    for k in range(rs0.size):
        step = 10.0 ** ((log10_c[k] - (-4.0)) / (n - 1))
        beta2, tau2 = (rc[k] / rs[k]) ** 2, (rt[k] / rs[k]) ** 2
        to_x = 1.0 / (kpa[k] * rs[k])
        scale = 4 * np.pi * factor[k] * rho0[k]
        total, r_prev, f_prev = 0.0, 0.0, 0.0
        r = 1e-4 * rs0[k]
        for j in range(n):
            if j == n - 1:
                r = 10.0 ** log10_c[k] * rs0[k]
            x2 = (r * to_x) ** 2
            f = scale * r * r / (math.sqrt(beta2 + x2) * (1 + x2) * ((x2 + tau2) / tau2))
            if j:
                total += (r - r_prev) * (f + f_prev) / 2.0
            r_prev, f_prev = r, f
            r *= step
        out[k] = total
    return out


def collapsed_kwargs(table: population.HaloTable, lens_cosmo: Any, x_core_halo: float) -> tuple[list[dict], np.ndarray]:
    """lenstronomy TNFWC kwargs of the collapsed halos (``TNFWCHaloParametric``), and each one's
    TNFW mass inside r200 (pyHalo's ``mass_conservation``)."""
    m, c, z_eval = table.mass, table.c, table.z_eval
    rho_s, rs0, _ = nfw.params_physical(lens_cosmo, m, c, z_eval)
    rt = table.r_trunc_kpc
    mass_r200 = _tnfw_mass_3d(rs0 * c, rs0, rho_s * table.rescale, rt / rs0)
    planes = nfw.PlaneQuantities(lens_cosmo, table.z)
    kpa = planes.kpc_per_arcsec
    rs = np.where(rt < x_core_halo * rs0, rt * 0.99, x_core_halo * rs0)
    rc = rs * 0.99
    factor = planes.sigma_crit * 1e-6 / kpa
    rs_a, rc_a, rt_a = rs / kpa, rc / kpa, rt / kpa
    rho0 = 1.0 / (4 * rs_a**2 * tnfwc_g(1.0, rc_a / rs_a, rt_a / rs_a))
    alpha_rs = mass_r200 / _mass_within_c(rs0, np.log10(c * rs0 / rs0), kpa, factor, rho0, rs_a, rc_a, rt_a)
    cx, cy = np.round(table.x, 4), np.round(table.y, 4)
    kwargs = [{"alpha_Rs": a, "Rs": s, "center_x": px, "center_y": py, "r_trunc": t, "r_core": k}
              for a, s, px, py, t, k in zip(alpha_rs.tolist(), (rs / kpa).tolist(), cx.tolist(), cy.tolist(),
                                            (rt / kpa).tolist(), (rc / kpa).tolist())]
    return kwargs, mass_r200


def add_core_collapsed_halos(original: Any, extension: Any, indexes: list[int], halo_profile: str = "TNFWC",
                             **kwargs_halo: Any) -> Any:
    """``RealizationExtensions.add_core_collapsed_halos`` for TNFWC, all collapsed halos at once;
    pyHalo's own method (``original``) for other profiles or halo kinds, logged and counted
    (:func:`.paths.fallback`)."""
    from pyHalo.Halos.HaloModels.NFW_core_trunc import TNFWCHaloParametric
    from pyHalo.single_realization import Realization

    real = extension._realization
    halos = real.halos
    order = sorted(set(int(i) for i in indexes))
    picked = [halos[i] for i in order]
    if halo_profile != "TNFWC":
        if picked:
            paths.fallback(paths.COLLAPSE, paths.uncovered_classes(picked), len(picked),
                           f"collapsed into {halo_profile}; the fast path makes TNFWC only")
        return original(extension, indexes, halo_profile, **kwargs_halo)
    uncovered = population.tnfw_uncovered(picked, real.lens_cosmo)
    if uncovered:
        paths.fallback(paths.COLLAPSE, uncovered, len(picked))
        return original(extension, indexes, halo_profile, **kwargs_halo)
    values, offsets = population.draw_all(population.draw_kinds(picked))
    table = population.tnfw_parameters(picked, real.lens_cosmo, values, offsets)
    x_core = kwargs_halo["x_core_halo"]
    kwargs, mass_r200 = collapsed_kwargs(table, real.lens_cosmo, x_core)
    bound = subhalo_bound_mass(table, real.lens_cosmo)
    new_halos = list(halos)
    for j, i in enumerate(order):
        h = halos[i]
        args = {"x_core_halo": x_core, "mass_conservation": float(mass_r200[j]), "rt_kpc": float(table.r_trunc_kpc[j])}
        new_halos[i] = _collapsed_halo(TNFWCHaloParametric, h, args, float(table.c[j]), kwargs[j],
                                       float(table.z_eval[j]), float(bound[j]))
    out = Realization.from_halos(new_halos, real.lens_cosmo, real.kwargs_halo_model, real.apply_mass_sheet_correction,
                                 real.rendering_classes, real._rendering_center_x, real._rendering_center_y, real.geometry)
    out._has_been_shifted = real._has_been_shifted
    return out


def _collapsed_halo(cls: Any, h: Any, args: dict, c: float, kwargs: dict, z_infall: float, bound: float) -> Any:
    """A pyHalo ``TNFWCHaloParametric`` with the attributes its constructor (and
    ``toSIDM_single_halo``) would set, and its lens parameters already evaluated; built without
    its constructor (which also makes a lenstronomy profile object per halo)."""
    import pyHalo.Halos.HaloModels.NFW_core_trunc as tnfwc_module
    from pyHalo.Halos.concentration import ConcentrationConstant

    new = cls.__new__(cls)
    new.__dict__.update({
        "_lens_cosmo": h.lens_cosmo, "_concentration_class": ConcentrationConstant(None, c), "_truncation_class": None,
        "tnfwc_lenstronomy": tnfwc_module._tnfwc_lenstronomy, "lens_cosmo": h.lens_cosmo, "mass": h.mass, "x": h.x, "y": h.y, "r3d": h.r3d,
        "mdef": "TNFWC", "z": h.z, "is_subhalo": h.is_subhalo, "_args": args, "unique_tag": h.unique_tag,
        "_rescale_norm": 1.0, "fixed_position": False, "_rescaled_once": False, "_c": c, "_kwargs_lenstronomy": [kwargs],
    })
    if h.is_subhalo:
        new._z_infall = z_infall
        new._bound_mass = bound
    return new


def subhalo_bound_mass(table: population.HaloTable, lens_cosmo: Any) -> np.ndarray:
    """pyHalo ``TNFWSubhalo.bound_mass``: TNFW mass inside c r_s after truncation (recorded on the
    collapsed halo as pyHalo does; it does not enter the lens model)."""
    _, rs, _ = nfw.params_physical(lens_cosmo, table.mass, table.c, table.z_eval)
    c = table.c
    fraction = _tnfw_mass_3d(c, 1.0, 1 / (4 * np.pi), table.r_trunc_kpc / rs) / (np.log(1 + c) - c / (1 + c))
    return fraction * table.mass * table.rescale
