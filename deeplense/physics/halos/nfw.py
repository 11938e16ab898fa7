"""NFW halo parameters for arrays of halos, in the units and order of operations of pyHalo's
``LensCosmo`` and lenstronomy's ``NFWParam`` (M200 with respect to the critical density at z;
Navarro, Frenk & White 1997)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _rhoc_z(nfw_param: Any, z: np.ndarray) -> np.ndarray:
    """lenstronomy ``NFWParam.rhoc_z``: critical density [h^2 Msun / Mpc^3] at z."""
    return nfw_param.rhoc * (nfw_param.cosmo.efunc(z)) ** 2


def params_physical(lens_cosmo: Any, m: np.ndarray, c: np.ndarray, z: np.ndarray, pseudo_nfw: bool = False) -> tuple:
    """pyHalo ``LensCosmo.NFW_params_physical``: (rho_s [Msun/kpc^3], r_s [kpc], r_200 [kpc])."""
    h = lens_cosmo.h
    p = lens_cosmo._nfw_param
    rhoc_z = _rhoc_z(p, z)
    r200 = (3 * (m * h) / (4 * np.pi * rhoc_z * 200)) ** (1.0 / 3.0) / h
    if pseudo_nfw:
        rho0 = 2 * c**3 * rhoc_z * 200 / (3 * np.log(1 + c**2)) * h**2
    else:
        rho0 = 200.0 / 3 * rhoc_z * c**3 / (np.log(1.0 + c) - c / (1.0 + c)) * h**2
    rs = r200 / c
    return rho0 * 1000**-3, rs * 1000, r200 * 1000


def r_n(lens_cosmo: Any, m: np.ndarray, z: np.ndarray, n: float) -> np.ndarray:
    """pyHalo ``LensCosmo.rN_M(m h, z, n)``: radius [Mpc] enclosing n times the critical density."""
    rn_mpc_over_h = (3 * (m * lens_cosmo.h) / (4 * np.pi * _rhoc_z(lens_cosmo._nfw_param, z) * n)) ** (1.0 / 3.0)
    return rn_mpc_over_h / lens_cosmo.cosmo.h


class PlaneQuantities:
    """Per-redshift distances of pyHalo's ``LensCosmo`` evaluated once per distinct redshift with
    pyHalo's own scalar calls (so bit-identical), then spread over the halos."""

    def __init__(self, lens_cosmo: Any, z: np.ndarray) -> None:
        z = np.asarray(z, dtype=float)
        unique, self._index = np.unique(z, return_inverse=True)
        cosmo = lens_cosmo.cosmo
        self.d_a = np.array([cosmo.D_A_z(zi) for zi in unique], dtype=float)[self._index]
        self.kpc_per_arcsec = np.array([cosmo.kpc_proper_per_asec(zi) for zi in unique], dtype=float)[self._index]
        self.sigma_crit = np.array([lens_cosmo.get_sigma_crit_lensing(zi, lens_cosmo.z_source) for zi in unique],
                                   dtype=float)[self._index]
        self.arcsec = lens_cosmo._arcsec


def physical_to_angle(planes: PlaneQuantities, rho_s_kpc: np.ndarray, rs_kpc: np.ndarray, pseudo_nfw: bool = False) -> tuple:
    """pyHalo ``nfw_physical2angle_fromNFWparams`` (after its kpc to Mpc conversion): (Rs [arcsec],
    alpha_Rs [arcsec]) of halos with NFW parameters (rho_s [Msun/kpc^3], r_s [kpc])."""
    rho0 = rho_s_kpc * 1e9
    rs = rs_kpc * 1e-3
    dd = planes.d_a
    rs_angle = rs / dd / planes.arcsec
    if pseudo_nfw:
        r2 = np.sqrt(2)
        alpha_rs = rho0 * (4 * rs**2 * (r2 * np.log(1 + r2) + np.log(1.0 / 2.0)))
    else:
        alpha_rs = rho0 * (4 * rs**2 * (1 + np.log(1.0 / 2.0)))
    return rs_angle, alpha_rs / planes.sigma_crit / dd / planes.arcsec
