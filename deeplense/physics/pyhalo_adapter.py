"""The one place pyHalo is called: draw a realization of one of its presets, seeded per image, and
turn its halos into renderer-independent ``Component``s with their redshifts.

pyHalo draws from the global ``numpy.random``: :func:`population` seeds it from the image's own
stream, so a population depends on the image seed alone. Every call runs inside
``pyhalo_compat.patched()`` (version check, numpy and truncation-table compatibility, exact
memos of set-up quantities; see that module), so importing this module changes nothing.

Speed (``fast=True``, the default; measured by benchmarks/simulate.py): pyHalo computes the
lens-model parameters of a realization halo by halo inside ``lensing_quantities()`` (≈ 1 ms per
halo: infall redshift, colossus concentration, Galacticus bound mass, truncation radius), and the
SIDM core-collapse step likewise. The fast path computes them for all halos at once with arrays
(:mod:`deeplense.physics.halos`), from the same random numbers in the same order, so the halos are
the same halos; ``tests/test_halo_params.py`` checks every parameter against pyHalo's own.
Halos the fast path does not cover are computed by pyHalo's per-halo code, with a logged warning
(:mod:`deeplense.physics.halos.paths`); the summary records how many halos each path computed
(``n_halos_fast``, ``n_halos_pyhalo``). ``fast=False`` is plain pyHalo (with the compatibility
patches only): the reference.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from deeplense.physics import pyhalo_compat
from deeplense.physics.components import Component

# pyHalo preset name -> module path and function (imported lazily: pyHalo's import costs ~1 s)
PRESETS: dict[str, tuple[str, str]] = {
    "CDM": ("pyHalo.PresetModels.cdm", "CDM"),
    "WDM": ("pyHalo.PresetModels.wdm", "WDM"),
    "SIDM_core_collapse": ("pyHalo.PresetModels.sidm", "SIDM_core_collapse"),
    "SIDM_parametric": ("pyHalo.PresetModels.sidm", "SIDM_parametric"),
    "ULDM": ("pyHalo.PresetModels.uldm", "ULDM"),
}


@dataclass(frozen=True)
class Population:
    """The halos of one realization as lens components (pyHalo's order, mass sheets last) and
    the summary recorded with the image (halo counts and masses, and how many halos the fast
    path and pyHalo's per-halo code computed)."""

    components: list[Component]
    summary: dict[str, float]


def preset_function(name: str) -> Any:
    """The pyHalo preset function ``name`` (CDM, WDM, SIDM_core_collapse, SIDM_parametric, ULDM)."""
    import importlib

    if name not in PRESETS:
        raise KeyError(f"unknown pyHalo preset {name!r}; allowed: {', '.join(PRESETS)}")
    pyhalo_compat.check_version()
    module, func = PRESETS[name]
    return getattr(importlib.import_module(module), func)


def _seed_global(rng: np.random.Generator) -> None:
    np.random.seed(int(rng.integers(0, 2**32 - 1)))


def _preset_call(preset: str, z_lens: float, z_source: float, kwargs: dict[str, Any], cosmology: dict[str, float]) -> Any:
    kwargs_cosmo = {"H0": cosmology["H0"], "Om0": cosmology["Om0"], "Ob0": cosmology["Ob0"]}
    return preset_function(preset)(z_lens, z_source, kwargs_cosmo=kwargs_cosmo, **kwargs)


def realize(preset: str, z_lens: float, z_source: float, kwargs: dict[str, Any], cosmology: dict[str, float],
            rng: np.random.Generator) -> Any:
    """One pyHalo realization (pyHalo's object, for inspecting its halos); the global numpy RNG is
    seeded from ``rng`` as :func:`population` seeds it."""
    _seed_global(rng)
    with pyhalo_compat.patched():
        return _preset_call(preset, z_lens, z_source, kwargs, cosmology)


def _components(names: list[str], redshifts: Any, kwargs: list[dict]) -> list[Component]:
    return [Component(name, {k: v if type(v) is float else _scalar(v) for k, v in kw.items()}, float(z))
            for name, z, kw in zip(names, redshifts, kwargs)]


def population(
    preset: str,
    z_lens: float,
    z_source: float,
    kwargs: dict[str, Any],
    cosmology: dict[str, float],
    rng: np.random.Generator,
    fast: bool = True,
) -> Population:
    """Realize ``preset`` and its lens components in one patched block (as one pyHalo script
    would: the truncation table pyHalo widens while drawing carries over to the lens parameters)."""
    from deeplense.physics.halos import paths
    from deeplense.physics.halos import population as halo_population

    _seed_global(rng)
    with pyhalo_compat.patched(speed=fast), _without_cyclic_gc(), paths.tally() as fallbacks:
        realization = _preset_call(preset, z_lens, z_source, kwargs, cosmology)
        quantities = halo_population.lens_components(realization) if fast else None
        n_halos = len(realization.halos)
        # halos pyHalo collapsed one by one keep pyHalo's parameters even where the rest are fast
        n_pyhalo = n_halos if quantities is None else min(fallbacks.collapsed_by_pyhalo, n_halos)
        if quantities is None:
            quantities = pyhalo_compat.lensing_quantities(realization)
        made_by = {"n_halos_fast": float(n_halos - n_pyhalo), "n_halos_pyhalo": float(n_pyhalo)}
        return Population(_components(*quantities), {**summary(realization), **made_by})


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """A realization is thousands of small Python objects: collecting cycles while they are
    built costs a third of a fast realization. Objects are freed by reference counting as
    usual; the collector runs again after the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scalar(value: Any) -> Any:
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def summary(realization: Any) -> dict[str, float]:
    """Halo count and mass of a realization [Msun]: every halo (``n_halos``, ``halo_mass_total``),
    subhalos and line-of-sight halos apart."""
    masses = np.array([h.mass for h in realization.halos], dtype=float)
    is_sub = np.array([bool(h.is_subhalo) for h in realization.halos], dtype=bool)
    if masses.size == 0:
        masses, is_sub = np.zeros(0), np.zeros(0, dtype=bool)
    return {
        "n_halos": float(masses.size),
        "halo_mass_total": float(masses.sum()),
        "n_halos_subhalo": float(is_sub.sum()),
        "n_halos_los": float((~is_sub).sum()),
        "subhalo_mass_total": float(masses[is_sub].sum()),
    }
