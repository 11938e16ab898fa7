"""Infall redshifts, bound masses and truncation radii for arrays of halos, as pyHalo 1.4.6.

Subhalos (pyHalo's ``TRUNCATION_GALACTICUS``):

1. infall redshift: z_lens + a normal truncated to [0, 15] whose mean and width depend on
   m_sub/m_host (pyHalo's ``InfallDistributionHybrid``/``Direct``, fits to Galacticus), drawn by
   scipy's inverse CDF from one uniform;
2. time since infall: the astropy age difference between the lens and infall redshifts;
3. bound mass: log10(m_bound/m_infall) from a Johnson SU distribution whose (a, b) pyHalo
   interpolates in a table of Galacticus runs over (time since infall, log10 c, c_host), capped
   at 0 (one uniform, inverse CDF);
4. truncation radius and density normalisation from the bound mass: the transfer function of
   Du et al. (2024, arXiv:2403.09597), pyHalo's ``compute_r_te_and_f_t`` (evaluated here for all
   halos at once, inside pyHalo's pinned truncation table).

Field halos (``TRUNCATION_RN``): r_N, the radius enclosing N times the critical density.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.physics.halos import nfw


def infall_supported(model: Any) -> bool:
    from pyHalo.Halos.accretion import InfallDistributionDirect, InfallDistributionHybrid

    return type(model) in (InfallDistributionHybrid, InfallDistributionDirect)


def infall_redshift(model: Any, m_sub: np.ndarray, u: np.ndarray) -> np.ndarray:
    """pyHalo's infall ``model(m_sub)`` (Hybrid or Direct) for every subhalo, from the uniform
    ``u`` that ``truncnorm.rvs`` would have drawn."""
    from scipy.stats import truncnorm

    ratio = np.minimum(np.maximum(1e-5, np.asarray(m_sub, float) / model._m_host), 10**-0.5)
    mu = model.z_inf_to_z_host_mean(ratio)
    sig = model.z_inf_to_z_host_std(ratio)
    a, b = (0.0 - mu) / sig, (15.0 - mu) / sig
    z = truncnorm._ppf(np.asarray(u, float), a, b) * sig + mu
    return model._z_lens + z


def time_since_infall(astropy_cosmology: Any, z: np.ndarray, z_infall: np.ndarray) -> np.ndarray:
    """Gyr between infall and the halo's redshift (pyHalo's ``Halo.time_since_infall``)."""
    return astropy_cosmology.age(z).value - astropy_cosmology.age(z_infall).value


def galacticus_supported(model: Any) -> bool:
    from pyHalo.Halos.galacticus_truncation.interp_mass_loss import InterpGalacticus
    from pyHalo.Halos.tidal_truncation import TruncationGalacticus

    return type(model) is TruncationGalacticus and type(model._mass_loss_interp) is InterpGalacticus


def bound_mass(model: Any, m: np.ndarray, c: np.ndarray, t_infall: np.ndarray, u: np.ndarray) -> np.ndarray:
    """pyHalo's ``TruncationGalacticus.calculate_mbound`` for every subhalo, from the uniforms ``u``
    that ``johnsonsu.rvs`` would have drawn (``InterpGalacticus.__call__``)."""
    from scipy.special import ndtri

    interp = model._mass_loss_interp
    log10c = np.minimum(np.maximum(np.log10(2), np.log10(c)), np.log10(384))
    t = np.minimum(np.maximum(0.0, t_infall), 8.1)
    chost = min(max(4.0, model._chost), 8.0)
    points = np.column_stack([t, log10c, np.full(t.shape, chost)])
    a, b = interp._a_interp(points), interp._b_interp(points)
    log10_ratio = np.minimum(np.sinh((ndtri(np.asarray(u, float)) - a) / b), 0.0)
    return m * 10**log10_ratio


def galacticus_radius(m_bound: np.ndarray, m: np.ndarray, r200_kpc: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(truncation radius [kpc], density normalisation f_t) from the bound mass: pyHalo's
    ``compute_r_te_and_f_t`` (Du et al. 2024), for subhalos given in the order pyHalo evaluates
    them. pyHalo widens its mass table whenever a halo falls outside it (a Johnson SU tail can
    strip a subhalo to almost nothing), and the halos after it use the wider table: runs of halos
    inside the current table are evaluated in one call, a halo outside it alone, as pyHalo would."""
    import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp

    m_bound, m, r200_kpc, c = (np.asarray(v, float) for v in (m_bound, m, r200_kpc, c))
    m_unnormalised = _unnormalised_mass(m_bound, m, c)
    r_te, f_t = np.empty(m.size), np.empty(m.size)
    start = 0
    while start < m.size:
        inside = (m_unnormalised[start:] >= tdp.M_min) & (m_unnormalised[start:] <= tdp.M_max) & tdp.Mass_table_Initialized
        stop = start + (int(np.argmin(inside)) if not inside.all() else inside.size)
        if stop == start:  # this halo widens pyHalo's table: alone
            stop = start + 1
        part = slice(start, stop)
        r_te[part], f_t[part] = tdp.compute_r_te_and_f_t(m_bound[part], m[part], r200_kpc[part], c[part])
        start = stop
    return r_te, f_t


def _unnormalised_mass(m_bound: np.ndarray, m: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``M / f_t`` that pyHalo's ``_Truncation_Radius`` looks up (its steps, NFW: alpha, beta,
    gamma = 1, 3, 1)."""
    import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp

    m0 = m / tdp._M_enclosed_generalized_NFW_dimensionless(c)
    m_mx = m0 * tdp._M_enclosed_generalized_NFW_dimensionless(tdp._R_max_generalized_NFW_dimensionless())
    y_scale, _ = tdp.Convert_to_reference_model()
    f_t = tdp._f_t_Du_2024(m_bound / m_mx * y_scale)
    return m_bound / m0 / f_t


def rn_supported(model: Any) -> bool:
    from pyHalo.Halos.tidal_truncation import TruncationRN

    return type(model) is TruncationRN


def rn_radius(model: Any, lens_cosmo: Any, m: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``TruncationRN.truncation_radius``: r_N [kpc] of field halos (N = 50 in the presets)."""
    return nfw.r_n(lens_cosmo, m, z, model._N) * 1000
