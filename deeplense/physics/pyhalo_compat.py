"""Everything deeplense changes in pyHalo's behaviour, in one place, for pyHalo 1.4.6 only.

Nothing here runs at import: :func:`patched` applies the patches for the duration of a block
(``with pyhalo_compat.patched(): ...``) and undoes them on exit, so importing deeplense (as the
Snakefile does when it parses the config) leaves numpy and pyHalo untouched. Entering the block
checks the installed pyHalo against :data:`SUPPORTED_VERSION` first.

Compatibility (pyHalo 1.4.6 with numpy 2.4 and lenstronomy 1.14.2):

- ``np.trapz``: pyHalo calls it (SIDM profiles, mass integrals); numpy 2.4 removed it. Inside the
  block it is ``np.trapezoid``; outside it does not exist.
- truncation table: pyHalo tabulates M(x) of the truncated profile of Du et al. (2024) in module
  globals over an x range it widens whenever a subhalo falls outside it, so truncation radii would
  depend on which halos the process met before (at the 1e-8 level). Each block starts from the
  table pinned to x in [1e-9, 1e7] (10 points per decade, as pyHalo) and restores pyHalo's own on
  exit, so every image is a function of its seed alone (a Johnson SU tail that strips a subhalo
  below the pinned range widens the table for the rest of that realization only, as in pyHalo).
- ``lensing_quantities()`` returns a fourth item, a numerical deflection class lenstronomy 1.14 no
  longer accepts; :func:`lensing_quantities` returns the first three and insists the fourth is None.
- astropy's deprecation warning about ``angular_diameter_distance_z1z2`` (pyHalo calls it) is
  silenced inside the block.

Speed (``patched(speed=True)``). pyHalo recomputes for every realization quantities that depend on
nothing random; inside the block they are memoised per process (bounded LRU tables keyed by every
input; a memo returns the very value a fresh computation gives):

- the cosmology objects (astropy's, ≈ 0.03 s each; pyHalo's with its distance tables, ≈ 0.05 s)
  and the lensing-cosmology object (critical densities per plane);
- the truncation interpolation table (≈ 0.4 s), the comoving volume of each line-of-sight plane
  (a quadrature), the Sheth-Tormen mass function and the mass-function model of each plane, the
  quadratures of mass functions with a turnover (also behind the negative convergence sheets)
  and the two-halo boost (≈ 0.4 s).

Also: the 20,000-point tables of pyHalo's projected-NFW subhalo positions are computed with
arrays (not memoised: they depend on the host concentration pyHalo draws); one lenstronomy
profile object serves all halos instead of one per halo; and pyHalo's SIDM core-collapse step
(``RealizationExtensions.add_core_collapsed_halos``), which evaluates the collapsed halos one at a
time, is done for all of them at once by :func:`deeplense.physics.halos.sidm.add_core_collapsed_halos`
(same draws, same halos, parameters equal to pyHalo's to 1e-12, the collapsed halos' normalisation
to 1e-10: ``tests/test_halo_params.py``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

SUPPORTED_VERSION = "1.4.6"

# Pinned range of pyHalo's truncated-profile mass table (see the module docstring)
TRUNCATION_TABLE_X = (1.0e-9, 1.0e7)


class PyHaloVersionError(RuntimeError):
    """The installed pyHalo is not the version these patches were written and tested for."""


def installed_version() -> str:
    """pyHalo's version from its installed distribution (``pyHalo.__version__`` says 0.2.8 in
    every release up to 1.4.6: it was never updated, so the distribution metadata is the truth)."""
    try:
        return version("pyHalo")
    except PackageNotFoundError:
        return "not installed"


def check_version() -> None:
    """Raise :class:`PyHaloVersionError` unless pyHalo is exactly :data:`SUPPORTED_VERSION`."""
    found = installed_version()
    if found != SUPPORTED_VERSION:
        raise PyHaloVersionError(
            f"pyHalo {found} is installed but deeplense supports pyHalo {SUPPORTED_VERSION} only "
            f"(its compatibility patches in deeplense.physics.pyhalo_compat were written for that "
            f"release; newer pyHalo needs lenstronomy profiles that no lenstronomy release has): "
            f"pip install pyHalo=={SUPPORTED_VERSION}"
        )


def lensing_quantities(realization: Any) -> tuple[list[str], np.ndarray, list[dict]]:
    """``realization.lensing_quantities()`` without its fourth item (a numerical deflection class
    for lenstronomy releases before 1.14; None for every preset deeplense uses)."""
    names, redshifts, kwargs, numerical_alpha = realization.lensing_quantities()
    if numerical_alpha is not None:
        raise NotImplementedError("pyHalo returned a numerical deflection class; lenstronomy 1.14 cannot use it")
    return list(names), np.asarray(redshifts, dtype=float), list(kwargs)


# ---- the patches ------------------------------------------------------------------------------
@contextlib.contextmanager
def _numpy_trapz() -> Iterator[None]:
    added = not hasattr(np, "trapz")
    if added:
        np.trapz = np.trapezoid  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if added:
            del np.trapz  # type: ignore[attr-defined]


_TABLE_GLOBALS = ("N_per_decade", "x_min", "x_max", "N_tab", "x_tab", "M_tab", "Mass_table_Initialized",
                  "alpha_used", "beta_used", "gamma_used", "delta_used", "M_min", "M_max")


@contextlib.contextmanager
def _pinned_truncation_table() -> Iterator[None]:
    import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp

    saved = {name: getattr(tdp, name) for name in _TABLE_GLOBALS}
    tdp.x_min, tdp.x_max = TRUNCATION_TABLE_X
    tdp.Mass_table_Initialized = False
    m_mid = tdp._M_total_generalized_NFW_Truncated_dimensionless(1.0)
    tdp._Truncation_Radius(np.array([m_mid]), 1.0)  # tabulates on the pinned range
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(tdp, name, value)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use ``angular_diameter_distance")
        yield


# Exact memo tables for pure pyHalo set-up functions (keys hold every input they depend on),
# one bounded LRU table per kind (a dataset whose physics varies per image must not grow them)
MEMO_ENTRIES = 2048
_SETUP_CACHE: dict[str, OrderedDict] = {}


def _memo(key: tuple, compute: Any) -> Any:
    table = _SETUP_CACHE.setdefault(key[0], OrderedDict())
    if key in table:
        table.move_to_end(key)
        return table[key]
    value = table[key] = compute()
    if len(table) > MEMO_ENTRIES:
        table.popitem(last=False)
    return value


def clear_memos() -> None:
    """Forget every memoised set-up quantity (tests prove results do not depend on them)."""
    _SETUP_CACHE.clear()


def _colossus_key() -> tuple:
    from colossus.cosmology import cosmology as colossus_cosmology

    cc = colossus_cosmology.getCurrent()
    return (cc.H0, cc.Om0, cc.Ob0, cc.sigma8, cc.ns)


def _cosmology_key(astropy_cosmology: Any) -> tuple:
    """What pyHalo's distances depend on: the astropy cosmology and colossus's current one."""
    a = astropy_cosmology
    return (a.H0.value, a.Om0, a.Ob0, a.Tcmb0.value, *_colossus_key())


@contextlib.contextmanager
def _replaced(target: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, original)


@contextlib.contextmanager
def _memoised_setup() -> Iterator[None]:
    """Replace pyHalo's pure set-up functions by exact memos for the block (module docstring)."""
    import pyHalo.Halos.HaloModels.NFW_core_trunc as tnfwc_halo_module
    import pyHalo.Halos.HaloModels.TNFW as tnfw_halo_module
    import pyHalo.Halos.tidal_truncation as tidal_truncation
    import pyHalo.pyhalo as pyhalo_module
    import pyHalo.Rendering.line_of_sight as line_of_sight
    import pyHalo.Rendering.SpatialDistributions.nfw as spatial_nfw
    import pyHalo.Rendering.MassFunctions.density_peaks as density_peaks
    import pyHalo.Rendering.MassFunctions.mass_function_base as mass_function_base
    import pyHalo.Rendering.two_halo as two_halo
    from colossus.cosmology import cosmology as colossus_cosmology
    from pyHalo.Cosmology.geometry import Geometry

    cosmology_class, lens_cosmo_class = pyhalo_module.Cosmology, pyhalo_module.LensCosmo
    astropy_class, quad_original = pyhalo_module.FlatLambdaCDM, mass_function_base.integrate_power_law_quad
    tau_original, volume_original = tidal_truncation.tau_mf_interpolation, Geometry.volume_element_comoving
    boost_original, mass_function_original = two_halo.two_halo_enhancement_factor, density_peaks.evaluate_mass_function

    def cosmology(astropy_instance: Any = None, cosmo_kwargs: dict | None = None) -> Any:
        kw = cosmo_kwargs or {}
        a = astropy_instance
        key = ("cosmology", None if a is None else (a.H0.value, a.Om0, a.Ob0, a.Tcmb0.value),
               tuple(sorted((k, repr(v)) for k, v in kw.items())))
        cached = _memo(key, lambda: cosmology_class(astropy_instance, kw))
        colossus_cosmology.setCurrent(cached.colossus)  # as a fresh one would
        return cached

    def flat_lambda_cdm(H0: float, Ob0: float, Om0: float) -> Any:  # noqa: N803 (astropy's names)
        return _memo(("astropy", float(H0), float(Ob0), float(Om0)), lambda: astropy_class(H0=H0, Ob0=Ob0, Om0=Om0))

    def integrate_power_law_quad(norm: float, m_low: float, m_high: float, n: float, plaw_index: float,
                                 turnover: Any, kwargs_turnover: dict) -> float:
        key = ("power_law_quad", float(norm), float(m_low), float(m_high), float(n), float(plaw_index), turnover,
               tuple(sorted((k, float(v)) for k, v in kwargs_turnover.items())))
        return _memo(key, lambda: quad_original(norm, m_low, m_high, n, plaw_index, turnover, kwargs_turnover))

    tnfw_profile, tnfwc_profile = tnfw_halo_module.TNFW(), tnfwc_halo_module.TNFWCLenstronomy()
    los_model_original = line_of_sight.LineOfSightNoSheet._get_mass_function_model

    def get_mass_function_model(self: Any, z: float, delta_z: float, log_mlow: Any = None, log_mhigh: Any = None) -> Any:
        kw = self._kwargs_mass_function
        lo, hi = self._redshift_dependent_mass_range(z, kw["log_mlow"] if log_mlow is None else log_mlow,
                                                     kw["log_mhigh"] if log_mhigh is None else log_mhigh)
        settings = tuple(sorted((k, repr(v)) for k, v in kw.items() if k not in ("log_mlow", "log_mhigh")))
        g = self._geometry
        key = ("mass_function_model", self._mass_function_model, _cosmology_key(g.cosmo.astropy), g.volume_type,
               g.cone_opening_angle, g._zlens, g._zsource, getattr(g._geometrytype, "_angle_pad", None),
               float(z), float(delta_z), float(lo), float(hi), settings)
        return _memo(key, lambda: los_model_original(self, z, delta_z, lo, hi))

    def projected_nfw_draw(self: Any, n: int, z_plane: Any = None) -> Any:
        """pyHalo's ``ProjectedNFW.draw`` with its two 20,000-point cumulative tables computed with
        arrays instead of Python loops (same values: the C library's pow, as pyHalo's scalars)."""
        if n == 0:
            return [], [], []
        x2d, function_2d, x3d, function_3d = _projected_nfw_tables(self)
        r2d_kpc = spatial_nfw.inverse_transform_sampling(x2d[0:-1], function_2d, (), n) * self._arcsec_to_kpc
        theta = np.random.uniform(0, 2 * np.pi, n)
        x_kpc, y_kpc = r2d_kpc * np.cos(theta), r2d_kpc * np.sin(theta)
        r3d_kpc = spatial_nfw.inverse_transform_sampling(x3d[0:-1], function_3d, (), n) * self._arcsec_to_kpc
        return x_kpc, y_kpc, r3d_kpc

    def lens_cosmo(z_lens: float, z_source: float, cosmo: Any, *args: Any, **kwargs: Any) -> Any:
        key = ("lens_cosmo", id(cosmo), float(z_lens), float(z_source), args, tuple(sorted(kwargs.items())))
        held, value = _memo(key, lambda: (cosmo, lens_cosmo_class(z_lens, z_source, cosmo, *args, **kwargs)))
        # the entry holds its cosmology, so the id in its key cannot be reused while it lives
        return value if held is cosmo else lens_cosmo_class(z_lens, z_source, cosmo, *args, **kwargs)

    def volume_element_comoving(self: Any, z: float, delta_z: float, radius: float | None = None) -> float:
        g = self._geometrytype
        key = ("volume", _cosmology_key(self.cosmo.astropy), self.volume_type, type(g).__name__,
               getattr(g, "_angle_pad", None), self._zlens, self._zsource, self.cone_opening_angle,
               float(z), float(delta_z), radius)
        return _memo(key, lambda: volume_original(self, z, delta_z, radius))

    def two_halo_enhancement_factor(z_lens: float, z_step: float, lens_cosmo: Any, *args: Any, **kwargs: Any) -> float:
        key = ("two_halo", _cosmology_key(lens_cosmo.cosmo.astropy),
               float(z_lens), float(z_step), *(float(a) for a in args), tuple(sorted(kwargs.items())))
        return _memo(key, lambda: boost_original(z_lens, z_step, lens_cosmo, *args, **kwargs))

    def evaluate_mass_function(m: np.ndarray, h: float, z: float, model: str) -> np.ndarray:
        key = ("mass_function", *_colossus_key(), tuple(np.asarray(m, float)), float(h), float(z), model)
        return _memo(key, lambda: mass_function_original(m, h, z, model)).copy()

    from pyHalo.realization_extensions import RealizationExtensions

    from deeplense.physics.halos import sidm

    collapse_original = RealizationExtensions.add_core_collapsed_halos

    def add_core_collapsed_halos(self: Any, indexes: list, halo_profile: str = "TNFWC", **kwargs_halo: Any) -> Any:
        return sidm.add_core_collapsed_halos(collapse_original, self, indexes, halo_profile, **kwargs_halo)

    with contextlib.ExitStack() as stack:
        stack.enter_context(_replaced(RealizationExtensions, "add_core_collapsed_halos", add_core_collapsed_halos))
        stack.enter_context(_replaced(pyhalo_module, "Cosmology", cosmology))
        stack.enter_context(_replaced(pyhalo_module, "LensCosmo", lens_cosmo))
        stack.enter_context(_replaced(pyhalo_module, "FlatLambdaCDM", flat_lambda_cdm))
        stack.enter_context(_replaced(mass_function_base, "integrate_power_law_quad", integrate_power_law_quad))
        stack.enter_context(_replaced(line_of_sight.LineOfSightNoSheet, "_get_mass_function_model", get_mass_function_model))
        stack.enter_context(_replaced(spatial_nfw.ProjectedNFW, "draw", projected_nfw_draw))
        # lenstronomy profile objects hold no state: one per process instead of one per halo
        stack.enter_context(_replaced(tnfw_halo_module, "TNFW", lambda: tnfw_profile))
        stack.enter_context(_replaced(tnfwc_halo_module, "TNFWCLenstronomy", lambda: tnfwc_profile))
        stack.enter_context(_replaced(tidal_truncation, "tau_mf_interpolation", lambda: _memo(("tau_mf",), tau_original)))
        stack.enter_context(_replaced(Geometry, "volume_element_comoving", volume_element_comoving))
        stack.enter_context(_replaced(two_halo, "two_halo_enhancement_factor", two_halo_enhancement_factor))
        stack.enter_context(_replaced(density_peaks, "evaluate_mass_function", evaluate_mass_function))
        yield


def _projected_nfw_tables(p: Any) -> tuple:
    """The deterministic part of pyHalo's ``ProjectedNFW.draw``: rho[i] (x[i+1]^k - x[i]^k)."""
    from scipy.interpolate import interp1d

    from deeplense.physics.halos.cpow import cpow

    x2d = np.linspace(1e-3 * p._rmax2d, p._rmax2d, 20000)
    rho2d = p._cnfw_profile.density_2d(x2d, 0.0, p._rs_arcsec, 1.0, p._rcore_arcsec)
    sq = cpow(x2d, 2.0)
    function_2d = interp1d(x2d[0:-1], rho2d[:-1] * (sq[1:] - sq[:-1]))
    x3d = np.linspace(1e-3 * p._rmax2d, p._rmax3d, 20000)
    rho3d = p._cnfw_profile.density(x3d, p._rs_arcsec, 1.0, p._rcore_arcsec)
    cube = cpow(x3d, 3.0)
    function_3d = interp1d(x3d[0:-1], rho3d[:-1] * (cube[1:] - cube[:-1]))
    return x2d, function_2d, x3d, function_3d


_depth = 0


@contextlib.contextmanager
def patched(speed: bool = True) -> Iterator[None]:
    """Apply deeplense's pyHalo patches for the block (the module docstring lists them); with
    ``speed`` also the exact memos of set-up quantities. Nested blocks reuse the outer one's
    patches. Raises :class:`PyHaloVersionError` when pyHalo is not 1.4.6."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    check_version()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet())
        stack.enter_context(_numpy_trapz())
        stack.enter_context(_pinned_truncation_table())
        if speed:
            stack.enter_context(_memoised_setup())
        _depth = 1
        try:
            yield
        finally:
            _depth = 0
