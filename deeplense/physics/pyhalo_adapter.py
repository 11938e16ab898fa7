"""The one place pyHalo is used: draw a realization of one of its presets, seeded per image, and
turn its halos into renderer-independent ``Component``s with their redshifts.

pyHalo 1.4.6 facts handled here (shared/PHYSICS.md §2):
- it draws from the global ``numpy.random``: ``realize`` seeds it from the image's own stream;
- it calls ``np.trapz``, removed in numpy 2.4: restored below as ``np.trapezoid``, once;
- ``lensing_quantities()`` returns a ``numerical_alpha_class`` lenstronomy 1.14 no longer takes
  (None for these presets): it is ignored.

Speed: a setup table pyHalo rebuilds for every realization is built once per process
(``_memoise_setup``), and ``lensing_quantities()`` spends almost all its time recomputing, halo by halo, quantities
that depend only on a redshift (critical density, arcsec↔kpc, cosmic age, the colossus
growth factor). ``halo_components`` evaluates each halo's ``lenstronomy_params`` in the same
order (so the same random draws: identical halos) with those per-redshift quantities memoised;
``tests/test_pyhalo.py`` proves the components equal those of ``lensing_quantities()``.
"""

from __future__ import annotations

import contextlib
import functools
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


@functools.cache
def _memoise_setup() -> None:
    """pyHalo rebuilds, for every realization, a truncation-radius interpolation table that
    depends on nothing (``tau_mf_interpolation()``, ≈ 0.4 s): build it once per process."""
    import pyHalo.Halos.tidal_truncation as tidal_truncation

    tidal_truncation.tau_mf_interpolation = functools.cache(tidal_truncation.tau_mf_interpolation)


def preset_function(name: str) -> Any:
    """The pyHalo preset function ``name`` (CDM, WDM, SIDM_core_collapse, SIDM_parametric, ULDM)."""
    import importlib

    _memoise_setup()
    if name not in PRESETS:
        raise KeyError(f"unknown pyHalo preset {name!r}; allowed: {', '.join(PRESETS)}")
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
    np.random.seed(int(rng.integers(0, 2**32 - 1)))
    kwargs_cosmo = {"H0": cosmology["H0"], "Om0": cosmology["Om0"], "Ob0": cosmology["Ob0"]}
    return preset_function(preset)(z_lens, z_source, kwargs_cosmo=kwargs_cosmo, **kwargs)


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


def _scalar(value: Any) -> Any:
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def halo_components(realization: Any, fast: bool = True) -> list[Component]:
    """Every halo of ``realization`` (and pyHalo's negative mass sheets) as ``Component``s with
    their redshifts, the same list ``realization.lensing_quantities()`` gives.

    ``fast`` memoises pyHalo's per-redshift quantities (see the module docstring)."""
    lens_cosmo = realization.lens_cosmo
    with contextlib.ExitStack() as stack:
        if fast:
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
