"""The one place pyHalo is used: draw a realization of one of its presets, seeded per image, and
turn its halos into renderer-independent ``Component``s with their redshifts.

pyHalo 1.4.6 facts handled here:
- it draws from the global ``numpy.random``: ``realize`` seeds it from the image's own stream;
- it calls ``np.trapz``, removed in numpy 2.4: restored below as ``np.trapezoid``, once;
- ``lensing_quantities()`` returns a ``numerical_alpha_class`` lenstronomy 1.14 no longer takes
  (None for these presets): it is ignored;
- its Galacticus truncation table grows with the halos a process has met, so truncation radii
  depend on process history at the 1e-8 level: ``pin_truncation_table`` fixes it once.

Speed (``halo_components(fast=True)``, measured by benchmarks/simulate.py): set-up quantities
pyHalo recomputes for every realization without any randomness (tables, plane volumes, mass
functions) are computed once per process (``_cached_setup``, exact memos); the per-halo
parameters that ``lensing_quantities()`` computes lazily, halo by halo, are computed in the same
order (so with the same random draws: the same halos) but with the median concentration from a
cached table (``ConcentrationTable``, ≈ 1/3 of the time at preset defaults) and per-redshift
distance quantities memoised. ``tests/test_pyhalo.py`` proves the result equal to
``lensing_quantities()`` on a grid of deflections and convergence.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

if not hasattr(np, "trapz"):  # pyHalo 1.4.6 calls np.trapz (removed in numpy 2.4)
    np.trapz = np.trapezoid  # type: ignore[attr-defined]

from deeplense.physics.components import Component  # noqa: E402

# pyHalo preset name -> module path and function (imported lazily: pyHalo's import costs ~1 s)
PRESETS: dict[str, tuple[str, str]] = {
    "CDM": ("pyHalo.PresetModels.cdm", "CDM"),
    "WDM": ("pyHalo.PresetModels.wdm", "WDM"),
    "SIDM_core_collapse": ("pyHalo.PresetModels.sidm", "SIDM_core_collapse"),
    "SIDM_parametric": ("pyHalo.PresetModels.sidm", "SIDM_parametric"),
    "ULDM": ("pyHalo.PresetModels.uldm", "ULDM"),
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyHalo 1.4.6 calls astropy's deprecated ``angular_diameter_distance_z1z2``: not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use ``angular_diameter_distance")
        yield


def _cosmology_key(astropy_cosmology: Any) -> tuple:
    """What pyHalo's distances depend on: the astropy cosmology and colossus's current one."""
    from colossus.cosmology import cosmology as colossus_cosmology

    cc = colossus_cosmology.getCurrent()
    a = astropy_cosmology
    return (a.H0.value, a.Om0, a.Ob0, a.Tcmb0.value, cc.H0, cc.Om0, cc.Ob0, cc.sigma8, cc.ns)


# Exact memo tables for pure pyHalo set-up functions (keys hold every input they depend on)
_SETUP_CACHE: dict[tuple, Any] = {}


def _memo(key: tuple, compute: Any) -> Any:
    if key not in _SETUP_CACHE:
        _SETUP_CACHE[key] = compute()
    return _SETUP_CACHE[key]


@contextlib.contextmanager
def _cached_setup() -> Iterator[None]:
    """Within the block, pyHalo set-up quantities that depend on nothing random are computed once
    per process and reused, bit-identically, by every later realization with the same inputs:
    the truncation-radius table (``tau_mf_interpolation()``, ≈ 0.4 s per realization), the
    comoving volume of each line-of-sight plane (a quadrature per plane, ≈ 0.6 s), the
    Sheth-Tormen mass function per plane (colossus; also used for the negative mass sheets)
    and the two-halo boost around the main deflector (≈ 0.4 s). Scoped, so that code calling pyHalo
    directly (the benchmark's peer loop) is not changed."""
    import pyHalo.Halos.tidal_truncation as tidal_truncation
    import pyHalo.Rendering.MassFunctions.density_peaks as density_peaks
    import pyHalo.Rendering.two_halo as two_halo
    from pyHalo.Cosmology.geometry import Geometry

    tau_original, volume_original = tidal_truncation.tau_mf_interpolation, Geometry.volume_element_comoving
    boost_original, mass_function_original = two_halo.two_halo_enhancement_factor, density_peaks.evaluate_mass_function

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
        from colossus.cosmology import cosmology as colossus_cosmology

        cc = colossus_cosmology.getCurrent()
        key = ("mass_function", cc.H0, cc.Om0, cc.Ob0, cc.sigma8, cc.ns, tuple(np.asarray(m, float)), float(h), float(z), model)
        return _memo(key, lambda: mass_function_original(m, h, z, model)).copy()

    tidal_truncation.tau_mf_interpolation = lambda: _memo(("tau_mf",), tau_original)
    Geometry.volume_element_comoving = volume_element_comoving
    two_halo.two_halo_enhancement_factor = two_halo_enhancement_factor
    density_peaks.evaluate_mass_function = evaluate_mass_function
    try:
        yield
    finally:
        tidal_truncation.tau_mf_interpolation = tau_original
        Geometry.volume_element_comoving = volume_original
        two_halo.two_halo_enhancement_factor = boost_original
        density_peaks.evaluate_mass_function = mass_function_original


@functools.cache
def pin_truncation_table() -> None:
    """Make pyHalo's Galacticus truncation radii independent of process history.

    pyHalo 1.4.6 tabulates M(x) of the truncated profile in module globals over an x range that
    it widens (doubling) whenever a subhalo falls outside it, and interpolates in that table:
    the truncation radius of a halo then depends, at the 1e-8 level, on which halos the process
    met before (the first realization in a process differs from later ones with the same seed).
    Pinning the table once to a range wide enough for every physical halo (x from 1e-9 to 1e7,
    the same 10 points per decade) makes every image a function of its seed alone, so
    ``deeplense regenerate`` in a fresh process rebuilds it bit for bit. Applied once per process,
    before the first realization."""
    import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp

    tdp.x_min, tdp.x_max = 1.0e-9, 1.0e7
    tdp.Mass_table_Initialized = False
    m_mid = tdp._M_total_generalized_NFW_Truncated_dimensionless(1.0)
    tdp._Truncation_Radius(np.array([m_mid]), 1.0)  # tabulates on the pinned range


def preset_function(name: str) -> Any:
    """The pyHalo preset function ``name`` (CDM, WDM, SIDM_core_collapse, SIDM_parametric, ULDM)."""
    import importlib

    if name not in PRESETS:
        raise KeyError(f"unknown pyHalo preset {name!r}; allowed: {', '.join(PRESETS)}")
    pin_truncation_table()
    module, func = PRESETS[name]
    return getattr(importlib.import_module(module), func)


def realize(
    preset: str,
    z_lens: float,
    z_source: float,
    kwargs: dict[str, Any],
    cosmology: dict[str, float],
    rng: np.random.Generator,
) -> Any:
    """One pyHalo realization; the global numpy RNG is seeded from ``rng`` (the image's
    substructure stream) so the realization depends on the image seed alone."""
    function = preset_function(preset)
    np.random.seed(int(rng.integers(0, 2**32 - 1)))
    kwargs_cosmo = {"H0": cosmology["H0"], "Om0": cosmology["Om0"], "Ob0": cosmology["Ob0"]}
    with _cached_setup(), _quiet():
        return function(z_lens, z_source, kwargs_cosmo=kwargs_cosmo, **kwargs)


@contextlib.contextmanager
def _memoised(obj: Any, names: tuple[str, ...]) -> Iterator[None]:
    """Temporarily replace methods of ``obj`` by exact-argument memoised versions. Only pure
    functions of their (hashable, scalar) arguments are listed, so results are bit-identical."""
    saved = {}
    for name in names:
        method = getattr(obj, name, None)
        if method is None:
            continue
        saved[name] = obj.__dict__.get(name)
        cached = functools.lru_cache(maxsize=4096)(method)

        def call(*args: Any, _cached: Any = cached, _raw: Any = method, **kw: Any) -> Any:
            try:
                return _cached(*args, **kw)
            except TypeError:  # unhashable argument (an array): no memo
                return _raw(*args, **kw)

        setattr(obj, name, call)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                delattr(obj, name)
            else:
                setattr(obj, name, old)


class ConcentrationTable:
    """Median concentration c(M, z) of a colossus-backed pyHalo concentration model on a grid,
    interpolated by a bicubic spline in (z, log10 M) on log c.

    colossus evaluates many masses at one redshift in one call about 40× faster per halo than
    pyHalo's halo-by-halo calls (and bit-identically, element by element); a subhalo's
    concentration is evaluated at its own random infall redshift, so a grid in z is needed. The
    spline reproduces colossus to ≈ 2e-4 (colossus itself solves Ludlow 2016 on a 1 %-spaced
    grid of c, which limits smoothness), 1000× below the 0.2 dex scatter pyHalo then draws; the
    random draws are unchanged, so the halos are the same halos (``tests/test_pyhalo.py``)."""

    LOG_M = np.arange(3.0, 13.0 + 1e-9, 0.05)
    Z = np.concatenate([np.arange(0.0, 3.0, 0.025), np.arange(3.0, 12.0 + 1e-9, 0.1)])

    def __init__(self, evaluate: Any) -> None:
        from scipy.interpolate import RectBivariateSpline

        table = np.array([np.asarray(evaluate(10.0**self.LOG_M, float(z)), dtype=float) for z in self.Z])
        self.valid = bool(np.isfinite(table).all() and (table > 0).all())
        if self.valid:
            self._spline = RectBivariateSpline(self.Z, self.LOG_M, np.log(table))

    def covers(self, m: float, z: float) -> bool:
        return self.valid and self.LOG_M[0] <= np.log10(m) <= self.LOG_M[-1] and self.Z[0] <= z <= self.Z[-1]

    def __call__(self, m: float, z: float) -> float:
        return float(np.exp(self._spline(z, np.log10(m), grid=False)))


_TABLES: dict[tuple, ConcentrationTable] = {}


def _table_key(conc: Any) -> tuple:
    from colossus.cosmology import cosmology as colossus_cosmology

    cc = colossus_cosmology.getCurrent()
    return (type(conc).__name__, getattr(conc, "_mdef", None), cc.H0, cc.Om0, cc.Ob0, cc.sigma8, cc.ns, conc._cosmo.h)


@contextlib.contextmanager
def _tabulated_concentrations() -> Iterator[None]:
    """Within the block, the CDM concentration models pyHalo's presets use (Ludlow 2016, Diemer &
    Joyce 2019; WDM's Bose 2016 model wraps the latter) evaluate scalar (M, z) from tables."""
    from pyHalo.Halos import concentration as pyhalo_concentration

    classes = [pyhalo_concentration.ConcentrationLudlow, pyhalo_concentration.ConcentrationDiemerJoyce]
    originals = {cls: cls._evaluate_concentration for cls in classes}

    def make(original: Any) -> Any:
        def evaluate(self: Any, M: Any, z: Any) -> Any:
            if np.ndim(M) or np.ndim(z):
                return original(self, M, z)
            key = _table_key(self)
            table = _TABLES.get(key)
            if table is None:
                table = _TABLES[key] = ConcentrationTable(lambda m, zz: original(self, m, zz))
            return table(float(M), float(z)) if table.covers(float(M), float(z)) else original(self, M, z)

        return evaluate

    for cls, original in originals.items():
        cls._evaluate_concentration = make(original)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls._evaluate_concentration = original


def _scalar(value: Any) -> Any:
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def halo_components(realization: Any, fast: bool = True) -> list[Component]:
    """Every halo of ``realization`` (and pyHalo's negative mass sheets) as ``Component``s with
    their redshifts, the same list ``realization.lensing_quantities()`` gives.

    ``fast`` memoises pyHalo's per-redshift quantities (see the module docstring)."""
    lens_cosmo = realization.lens_cosmo
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet())
        if fast:
            stack.enter_context(_cached_setup())
            stack.enter_context(_tabulated_concentrations())
            stack.enter_context(
                _memoised(lens_cosmo, ("get_sigma_crit_lensing", "sigma_crit_mass", "nfw_physical2angle_fromNFWparams"))
            )
            stack.enter_context(_memoised(lens_cosmo.cosmo, ("kpc_proper_per_asec", "D_A_z", "D_C_z", "T_xy")))
        names, redshifts, kwargs, _numerical_alpha = realization.lensing_quantities()
    return [
        Component(name, {k: _scalar(v) for k, v in kw.items()}, float(z))
        for name, z, kw in zip(names, redshifts, kwargs)
    ]


def summary(realization: Any) -> dict[str, float]:
    """Halo count and mass in (sub)halos of a realization [Msun]; subhalos and line-of-sight apart."""
    masses = np.array([h.mass for h in realization.halos], dtype=float)
    is_sub = np.array([bool(h.is_subhalo) for h in realization.halos], dtype=bool)
    if masses.size == 0:
        masses, is_sub = np.zeros(0), np.zeros(0, dtype=bool)
    return {
        "n_subhalos": float(masses.size),
        "sub_mass_total": float(masses.sum()),
        "n_halos_subhalo": float(is_sub.sum()),
        "n_halos_los": float((~is_sub).sum()),
        "mass_in_subhalos": float(masses[is_sub].sum()),
    }
