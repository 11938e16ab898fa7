"""The radially symmetric halos of one lens plane as the arrays :mod:`.kernels` takes: family
codes and lenstronomy parameters, and for halos a table covers (:mod:`.tables`) their table row,
interpolation weights, amplitude, squared inverse scale and the clamp of q that reproduces
lenstronomy's clamps of the radius. One :class:`RadialHalos` is one kernel call."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numba
import numpy as np

from deeplense.physics.components import Component
from deeplense.simulation.raytracing import kernels, profiles, tables

# A cored-TNFW table is built for a core ratio shared by at least this many halos of an image
# (pyHalo's core-collapse recipe gives every collapsed halo the same ratio; its parametric SIDM
# model gives each halo its own, evaluated exactly)
TABLE_MIN_HALOS = 8
_NO_TABLE = tables.Table(-1, 0.0, np.zeros((4, 1, 4)), 0, -0.5, 1.0)


@dataclass
class RadialHalos:
    """The radially symmetric deflectors of one plane as the arrays :mod:`.kernels` takes."""

    family: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    p: np.ndarray  # (n, 4)
    table: tables.Table
    tabulated: np.ndarray
    amp: np.ndarray
    inv_rs2: np.ndarray
    q_clamp: np.ndarray
    row: np.ndarray
    w: np.ndarray
    own: np.ndarray  # cored TNFW halos that carry their own rows (kernels.cored_rows)

    def deflect(self, x: np.ndarray, y: np.ndarray, ax: np.ndarray, ay: np.ndarray) -> None:
        """Add the reduced deflections of these halos at rays (x, y) to (ax, ay)."""
        coef, e_min = self.table.coef, self.table.e_min
        box = np.array([x.min(), x.max(), y.min(), y.max()])
        first, count = kernels.row_ranges(self.cx, self.cy, self.inv_rs2, self.q_clamp, self.tabulated, box, e_min,
                                          coef.shape[1])
        offset = np.zeros(count.size, dtype=np.int64)
        np.cumsum(4 * count[:-1], out=offset[1:])
        rows = np.empty(int(4 * count.sum()))
        kernels.blend_rows(coef, self.row, self.w, first, count, offset, self.own, rows)
        if self.own.any():
            kernels.cored_rows(self.p, self.own, first, count, offset, e_min, rows)
        kernels.radial_deflections(x, y, self.family, self.cx, self.cy, self.p, coef, e_min, self.row, self.w, self.amp,
                                   self.inv_rs2, self.q_clamp, first, count, offset, rows, self.own, ax, ay,
                                   numba.get_num_threads())


def _radial_params(c: Component) -> tuple[int, tuple[float, float, float, float]]:
    kw = c.kwargs
    if c.profile == "TNFW":
        return 0, (kw["Rs"], kw["alpha_Rs"], kw["r_trunc"], 0.0)
    if c.profile == "TNFWC":
        return 1, (kw["Rs"], kw["alpha_Rs"], kw["r_core"], kw["r_trunc"])
    if c.profile == "CNFW":
        return 2, (kw["Rs"], kw["alpha_Rs"], kw["r_core"], 0.0)
    if c.profile == "ULDM":
        return 3, (kw["kappa_0"], kw["theta_c"], kw.get("slope", 8.0), 0.0)
    return 4, (kw["theta_E"], 0.0, 0.0, 0.0)


def _tabulable(table: tables.Table, family: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which halos ``table`` covers, and their (shape parameter, amplitude, q clamp, 1/scale^2)
    as :mod:`.tables` defines them, with lenstronomy's clamps (q >= q clamp reproduces them)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if table.family == 0:  # TNFW: R >= 0.001 Rs
            use, scale, shape = family == 0, p[:, 0], p[:, 2] / p[:, 0]
        elif table.family == 1:  # TNFWC at the table's core ratio; R >= 1e-8
            scale, shape = p[:, 0], p[:, 3] / p[:, 0]
            use = (family == 1) & (np.abs(p[:, 2] / p[:, 0] - table.beta) <= 1e-12 * table.beta) & (scale >= 1e-8)
        elif table.family == 2:  # CNFW: R >= 0.001 and x >= 0.001 agree for Rs <= 1
            use, scale, shape = (family == 2) & (p[:, 0] >= 1e-7) & (p[:, 0] <= 1.0), p[:, 0], p[:, 2] / p[:, 0]
        else:  # ULDM soliton of the table's slope: R >= 1e-8
            use, scale, shape = (family == 3) & (p[:, 2] == table.beta), p[:, 1], np.full(family.size, table.middle())
        if table.family != 3:
            lo, hi = table.tau_range()
            use &= np.isfinite(shape) & (shape >= lo) & (shape <= hi)
        use &= np.isfinite(scale) & (scale > 0)
    scale = np.where(use, scale, 1.0)
    shape = np.where(use, shape, table.middle())
    if table.family == 0:
        norm = np.array([profiles.tnfw_g(1.0, t) for t in shape.tolist()])
        amp, q_clamp = p[:, 1] / (scale * (1.0 + profiles.LN_HALF)) * norm, np.full(family.size, 1e-6)
    elif table.family == 1:
        amp, q_clamp = p[:, 1] / scale, (1e-8 / scale) ** 2
    elif table.family == 2:
        amp, q_clamp = p[:, 1] / scale, (0.001 / scale) ** 2
    else:
        slope = np.where(use, p[:, 2], 8.0)
        amp, q_clamp = 2.0 / (2.0 * slope - 3.0) * p[:, 0] / (0.5 ** (-1.0 / slope) - 1.0), (1e-8 / scale) ** 2
    return use, shape, np.where(use, amp, 0.0), np.where(use, q_clamp, 0.0), 1.0 / scale**2


def radial_halos(components: list[Component], table: tables.Table | None) -> RadialHalos:
    """Arrays of radially symmetric halos of one plane; those ``table`` covers are tabulated,
    cored TNFW halos it does not cover get their own rows, the others are evaluated exactly."""
    fam, par = zip(*(_radial_params(c) for c in components))
    family = np.array(fam, dtype=np.int64)
    p = np.array(par, dtype=float)
    cx = np.array([c.kwargs["center_x"] for c in components], dtype=float)
    cy = np.array([c.kwargs["center_y"] for c in components], dtype=float)
    n = family.size
    if table is None:
        table = tables.grid(1) if (family == 1).any() else _NO_TABLE
    if np.isnan(table.beta) or table is _NO_TABLE:
        use, shape, amp, q_clamp, inv_scale2 = np.zeros(n, bool), np.ones(n), np.zeros(n), np.zeros(n), np.ones(n)
    else:
        use, shape, amp, q_clamp, inv_scale2 = _tabulable(table, family, p)
    own = np.zeros(n, dtype=bool)
    if table.family == 1:  # cored halos off the table: their own rows (R >= 1e-8 clamp as above)
        with np.errstate(invalid="ignore", divide="ignore"):
            own = (family == 1) & ~use & (p[:, 0] >= 1e-8) & np.isfinite(p[:, 3] / p[:, 0])
        rs = np.where(own, p[:, 0], 1.0)
        amp = np.where(own, p[:, 1] / rs, amp)
        q_clamp = np.where(own, (1e-8 / rs) ** 2, q_clamp)
        inv_scale2 = np.where(own, 1.0 / rs**2, inv_scale2)
    row, w = kernels.tau_rows(shape, table.ln_tau0, table.h)
    return RadialHalos(family, cx, cy, p, table, use | own, amp, inv_scale2, q_clamp, np.where(use, row, 0), w, own)


def radial_groups(components: list[Component], cored_beta: float | None) -> list[RadialHalos]:
    """One kernel call per table: TNFW (with any point masses), cored TNFW (with the table of the
    image's common core ratio, if any), cored NFW, ULDM solitons (one table per slope)."""
    by_profile: dict[str, list[Component]] = defaultdict(list)
    for c in components:
        by_profile["TNFW" if c.profile == "POINT_MASS" else c.profile].append(c)
    groups = []
    for profile, members in by_profile.items():
        if profile == "TNFW":
            table = tables.table(0) if any(c.profile == "TNFW" for c in members) else None
        elif profile == "TNFWC":
            table = tables.table(1, cored_beta) if cored_beta is not None else None
        elif profile == "CNFW":
            table = tables.table(2)
        else:
            slopes = Counter(float(c.kwargs.get("slope", 8.0)) for c in members)
            table = tables.table(3, slopes.most_common(1)[0][0])
        groups.append(radial_halos(members, table))
    return groups


def common_core_ratio(components: list[Component]) -> float | None:
    """The core ratio r_core/Rs shared by most cored-TNFW halos of the system, if many share it."""
    ratios = Counter(round(c.kwargs["r_core"] / c.kwargs["Rs"], 9) for c in components if c.profile == "TNFWC")
    if not ratios:
        return None
    value, n = ratios.most_common(1)[0]
    return value if n >= TABLE_MIN_HALOS else None
