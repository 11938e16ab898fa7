"""A pyHalo realization's halos as lens-model components, all halos at once.

:func:`lens_components` gives the list ``Realization.lensing_quantities()`` gives (same profiles,
same order, same redshifts, the same parameters to rounding), computed with arrays instead of one
pyHalo halo object at a time. The random numbers pyHalo would draw halo by halo (infall
redshifts, concentration scatter, Galacticus bound masses) are drawn in one call and handed out in
pyHalo's order (:mod:`.legacy_stream`), so these are pyHalo's own halos. Halo kinds:

- ``TNFW`` subhalos (Galacticus truncation) and field halos (r_N truncation): CDM, WDM, SIDM;
- ``TNFWC`` core-collapsed halos of pyHalo's SIDM core-collapse recipe (:mod:`.sidm`);
- ``CNFW`` + ``ULDM`` ultralight halos (:mod:`.uldm`);

followed by pyHalo's negative convergence sheets. A realization with any other kind of halo (or
halos pyHalo has already evaluated) returns None, and the fallback is logged and counted
(:mod:`.paths`): the caller has pyHalo compute the realization's halos one by one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deeplense.physics.halos import concentration, legacy_stream, nfw, paths, truncation


@dataclass
class HaloTable:
    """Columns of the halos of one realization (pyHalo order) and their lens-model parameters."""

    mass: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    is_subhalo: np.ndarray
    c: np.ndarray = field(default=None)  # type: ignore[assignment]
    z_eval: np.ndarray = field(default=None)  # type: ignore[assignment]
    r_trunc_kpc: np.ndarray = field(default=None)  # type: ignore[assignment]
    rescale: np.ndarray = field(default=None)  # type: ignore[assignment]

    @classmethod
    def of(cls, halos: list) -> "HaloTable":
        return cls(
            mass=np.array([h.mass for h in halos], dtype=float),
            x=np.array([h.x for h in halos], dtype=float),
            y=np.array([h.y for h in halos], dtype=float),
            z=np.array([h.z for h in halos], dtype=float),
            is_subhalo=np.array([bool(h.is_subhalo) for h in halos], dtype=bool),
        )


_LAZY = ("_c", "_z_infall", "_zeval", "_profile_args", "_kwargs_lenstronomy", "_nfw_params", "_mbound_galacticus_definition")


def _fresh(halo: Any) -> bool:
    """pyHalo has not evaluated this halo yet (so its draws are still to come)."""
    return not any(hasattr(halo, name) for name in _LAZY) and halo.rescale_norm == 1.0


def _models_supported(halo: Any) -> bool:
    from pyHalo.Halos.HaloModels.TNFW import TNFWFieldHalo, TNFWSubhalo

    if type(halo) is TNFWSubhalo:
        return truncation.galacticus_supported(halo._truncation_class) and concentration.supported(halo._concentration_class)
    if type(halo) is TNFWFieldHalo:
        return truncation.rn_supported(halo._truncation_class) and concentration.supported(halo._concentration_class)
    return False


def _describe(halo: Any) -> str:
    """A halo's class with its concentration and truncation models (what a fallback names)."""
    models = [type(m).__name__ for m in (getattr(halo, "_concentration_class", None), getattr(halo, "_truncation_class", None))
              if m is not None]
    return f"{type(halo).__name__} ({', '.join(models)})" if models else type(halo).__name__


def tnfw_uncovered(halos: list, lens_cosmo: Any) -> Counter[str]:
    """The halos among ``halos`` that :func:`tnfw_parameters` does not reproduce, as descriptions
    (class, concentration and truncation models) and counts; empty when it covers them all."""
    checked: dict[tuple, bool] = {}
    out: Counter[str] = Counter()
    for h in halos:
        key = (type(h), id(getattr(h, "_concentration_class", None)), id(getattr(h, "_truncation_class", None)))
        if key not in checked:
            checked[key] = _models_supported(h)
        if not checked[key]:
            out[_describe(h)] += 1
        elif not _fresh(h):
            out[f"{type(h).__name__} already evaluated by pyHalo"] += 1
    if not truncation.infall_supported(lens_cosmo._z_infall_model):
        model = type(lens_cosmo._z_infall_model).__name__
        for h in halos:
            if h.is_subhalo:
                out[f"{type(h).__name__} with infall model {model}"] += 1
    return out


def tnfw_supported(halos: list, lens_cosmo: Any) -> bool:
    """Whether :func:`tnfw_parameters` reproduces pyHalo for these (TNFW) halos."""
    return not tnfw_uncovered(halos, lens_cosmo)


def _pattern(halo: Any) -> tuple[int, ...]:
    """The random draws pyHalo makes for a TNFW halo when its lens parameters are first asked
    for: a subhalo draws its infall redshift (uniform), its concentration scatter (Gaussian) and
    its Galacticus bound mass (uniform); a field halo only its concentration scatter."""
    gauss = (legacy_stream.GAUSS,) * concentration.gaussians_per_halo(halo._concentration_class)
    return (legacy_stream.UNIFORM, *gauss, legacy_stream.UNIFORM) if halo.is_subhalo else gauss


def draw_kinds(halos: list, pattern: Any = None) -> list[tuple[int, ...]]:
    """Each halo's draws (``pattern(halo)``, :func:`_pattern` by default), computed once per kind
    of halo (class, concentration model, subhalo or not)."""
    pattern = pattern or _pattern
    known: dict[tuple, tuple[int, ...]] = {}
    out = []
    for h in halos:
        key = (type(h), id(h._concentration_class), bool(h.is_subhalo))
        if key not in known:
            known[key] = pattern(h)
        out.append(known[key])
    return out


def draw_all(kinds: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """(all draws in order, each halo's first draw in them) from the global legacy stream."""
    lengths = np.fromiter((len(k) for k in kinds), dtype=np.int64, count=len(kinds))
    offsets = np.zeros(len(kinds), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    flat = np.fromiter((v for k in kinds for v in k), dtype=np.int8, count=int(lengths.sum()))
    return legacy_stream.draw(flat), offsets


def _groups(halos: list) -> dict[tuple[int, int, bool], np.ndarray]:
    """Indices of halos sharing concentration and truncation models (and subhalo status)."""
    keys: dict[tuple[int, int, bool], list[int]] = {}
    for i, h in enumerate(halos):
        keys.setdefault((id(h._concentration_class), id(h._truncation_class), bool(h.is_subhalo)), []).append(i)
    return {k: np.array(v, dtype=int) for k, v in keys.items()}


def group_draws(values: np.ndarray, offsets: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """(len(idx), n) draws of the halos ``idx`` (each with n draws)."""
    return values[offsets[idx][:, None] + np.arange(n)[None, :]]


def tnfw_parameters(halos: list, lens_cosmo: Any, values: np.ndarray, offsets: np.ndarray) -> HaloTable:
    """Concentrations, truncation radii and normalisations of TNFW halos, pyHalo's
    ``TNFWSubhalo``/``TNFWFieldHalo.profile_args`` for all of them, from their draws (halo i's
    start at ``values[offsets[i]]``)."""
    table = HaloTable.of(halos)
    n = len(halos)
    table.c, table.z_eval = np.empty(n), table.z.copy()
    table.r_trunc_kpc, table.rescale = np.empty(n), np.ones(n)
    astropy = lens_cosmo.cosmo.astropy
    for (_, _, is_sub), idx in _groups(halos).items():
        h0 = halos[idx[0]]
        model_c, model_t = h0._concentration_class, h0._truncation_class
        n_gauss = concentration.gaussians_per_halo(model_c)
        d = group_draws(values, offsets, idx, n_gauss + (2 if is_sub else 0))
        m, z = table.mass[idx], table.z[idx]
        if is_sub:
            z_infall = truncation.infall_redshift(lens_cosmo._z_infall_model, m, d[:, 0])
            c = concentration.draw(model_c, m, z_infall, d[:, 1] if n_gauss else None)
            m_bound = truncation.bound_mass(model_t, m, c, truncation.time_since_infall(astropy, z, z_infall), d[:, -1])
            _, _, r200 = nfw.params_physical(lens_cosmo, m, c, z_infall)
            r_te, f_t = truncation.galacticus_radius(m_bound, m, r200, c)
            table.z_eval[idx], table.r_trunc_kpc[idx], table.rescale[idx] = z_infall, r_te, f_t
        else:
            c = concentration.draw(model_c, m, z, d[:, 0] if n_gauss else None)
            table.r_trunc_kpc[idx] = truncation.rn_radius(model_t, lens_cosmo, m, z)
        table.c[idx] = c
    return table


def tnfw_kwargs(table: HaloTable, lens_cosmo: Any, idx: np.ndarray | None = None) -> list[dict[str, float]]:
    """lenstronomy TNFW keyword arguments (``TNFWFieldHalo.lenstronomy_params``, with pyHalo's
    rounding of positions to 1e-4″ and of Rs, alpha_Rs to 1e-10)."""
    idx = np.arange(table.mass.size) if idx is None else idx
    rho_s, rs_kpc, _ = nfw.params_physical(lens_cosmo, table.mass[idx], table.c[idx], table.z_eval[idx])
    planes = nfw.PlaneQuantities(lens_cosmo, table.z[idx])
    rs_angle, theta_rs = nfw.physical_to_angle(planes, rho_s, rs_kpc)
    rs_angle, theta_rs = np.round(rs_angle, 10), np.round(theta_rs, 10)
    alpha_rs = table.rescale[idx] * theta_rs
    r_trunc = table.r_trunc_kpc[idx] / planes.kpc_per_arcsec
    x, y = np.round(table.x[idx], 4), np.round(table.y[idx], 4)
    return [{"alpha_Rs": a, "Rs": r, "center_x": cx, "center_y": cy, "r_trunc": t}
            for a, r, cx, cy, t in zip(alpha_rs.tolist(), rs_angle.tolist(), x.tolist(), y.tolist(), r_trunc.tolist())]


def mass_sheets(realization: Any) -> tuple[list[str], list[float], list[dict]]:
    """pyHalo's negative convergence sheets (``lensing_quantities`` with its defaults)."""
    if not (realization.apply_mass_sheet_correction and realization.rendering_classes is not None):
        return [], [], []
    kwargs, profiles, redshifts = realization._mass_sheet_correction(realization.rendering_classes)
    return list(profiles), [float(z) for z in redshifts], list(kwargs)


def _precomputed(halo: Any) -> bool:
    """A halo whose lens parameters deeplense already set (collapsed SIDM halos): pyHalo's
    ``lenstronomy_params`` returns them without drawing."""
    from pyHalo.Halos.HaloModels.NFW_core_trunc import TNFWCHaloParametric

    return type(halo) is TNFWCHaloParametric and hasattr(halo, "_kwargs_lenstronomy")


def lens_components(realization: Any) -> tuple[list[str], list[float], list[dict]] | None:
    """(profiles, redshifts, kwargs) of every halo of ``realization`` and its mass sheets, as
    ``realization.lensing_quantities()``, or None where a halo kind is not covered here (logged
    and counted by :func:`.paths.fallback`, naming the halo classes not covered)."""
    from deeplense.physics.halos import uldm

    halos = realization.halos
    lens_cosmo = realization.lens_cosmo
    kind = ["set" if _precomputed(h) else "uldm" if uldm.is_uldm(h) else "tnfw" for h in halos]
    uncovered: Counter[str] = Counter()
    for name, check in (("tnfw", lambda hs: tnfw_uncovered(hs, lens_cosmo)), ("uldm", uldm.uncovered)):
        members = [h for h, k in zip(halos, kind) if k == name]
        if members:
            uncovered += check(members)
    if uncovered:
        paths.fallback(paths.PARAMETERS, uncovered, len(halos))
        return None
    patterns = {"set": lambda h: (), "uldm": uldm.pattern, "tnfw": _pattern}
    kinds = [patterns[k](h) if k != "tnfw" else None for h, k in zip(halos, kind)]
    tnfw_idx = [i for i, k in enumerate(kind) if k == "tnfw"]
    for i, ks in zip(tnfw_idx, draw_kinds([halos[i] for i in tnfw_idx])):
        kinds[i] = ks
    values, offsets = draw_all(kinds)
    per_halo: list[list[tuple[str, dict]]] = [[] for _ in halos]
    if tnfw_idx:
        idx = np.array(tnfw_idx)
        table = tnfw_parameters([halos[i] for i in tnfw_idx], lens_cosmo, values, offsets[idx])
        for i, kw in zip(tnfw_idx, tnfw_kwargs(table, lens_cosmo)):
            per_halo[i] = [("TNFW", kw)]
    uldm_idx = [i for i, k in enumerate(kind) if k == "uldm"]
    if uldm_idx:
        idx = np.array(uldm_idx)
        for i, pair in zip(uldm_idx, uldm.kwargs([halos[i] for i in uldm_idx], lens_cosmo, values, offsets[idx])):
            per_halo[i] = pair
    for i, k in enumerate(kind):
        if k == "set":
            per_halo[i] = list(zip(halos[i].lenstronomy_ID, halos[i]._kwargs_lenstronomy))
    names, redshifts, kwargs = [], [], []
    for h, pairs in zip(halos, per_halo):
        for name, kw in pairs:
            names.append(name)
            redshifts.append(float(h.z))
            kwargs.append(kw)
    sheet_names, sheet_z, sheet_kwargs = mass_sheets(realization)
    return names + sheet_names, redshifts + sheet_z, kwargs + sheet_kwargs
