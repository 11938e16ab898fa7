"""A ``LensSystem`` traced to the source plane, plane by plane, as lenstronomy's multi-plane
``LensModel.ray_shooting`` does (Blandford & Narayan 1986; McCully et al. 2014, arXiv:1401.0197;
lenstronomy ``MultiPlaneBase``):

    x = 0, alpha = theta;  for each plane i (increasing z):
        x += alpha T(z_{i-1}, z_i);  alpha -= [sum of reduced deflections at x / T(0, z_i)] D_s / D_is
    beta = (x + alpha T(z_last, z_s)) / T(0, z_s)

with lenstronomy's own transverse comoving distances T and angular-diameter distances D. A system
whose deflectors all lie on the main lens plane is traced as lenstronomy's single-plane model
(beta = theta - sum of deflections). On each plane, the radially symmetric halo profiles of
:mod:`.kernels` are evaluated by one kernel call for all halos of the plane, uniform convergence
sheets by numpy, and any other profile (main lens, external shear) by its lenstronomy class.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deeplense.physics.components import Component, LensSystem
from deeplense.physics.cosmology import flat_lcdm
from deeplense.simulation.raytracing import kernels
from deeplense.simulation.raytracing.halo_arrays import RadialHalos, common_core_ratio, radial_groups



@functools.lru_cache(maxsize=8)
def _background(cosmology: tuple[float, float, float]) -> Any:
    from lenstronomy.Cosmo.background import Background

    return Background(flat_lcdm(*cosmology))


@functools.lru_cache(maxsize=4096)
def _t_xy(cosmology: tuple[float, float, float], z1: float, z2: float) -> float:
    """lenstronomy ``Background.T_xy``: transverse comoving distance [Mpc]."""
    return float(_background(cosmology).T_xy(z1, z2))


@functools.lru_cache(maxsize=4096)
def _d_xy(cosmology: tuple[float, float, float], z1: float, z2: float) -> float:
    """lenstronomy ``Background.d_xy``: angular-diameter distance [Mpc]."""
    return float(_background(cosmology).d_xy(z1, z2))


@functools.lru_cache(maxsize=64)
def _lenstronomy_profile(name: str) -> Any:
    from lenstronomy.LensModel.profile_list_base import lens_class

    return lens_class(name)


@dataclass
class Plane:
    """Deflectors of one redshift."""

    z: float
    radial: list[RadialHalos] = field(default_factory=list)
    sheets: np.ndarray | None = None  # (n, 3): kappa, ra_0, dec_0
    others: list[Component] = field(default_factory=list)

    def deflection(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sum of the reduced deflections of this plane's deflectors at angles (x, y)."""
        ax, ay = np.zeros_like(x), np.zeros_like(y)
        for group in self.radial:
            group.deflect(x, y, ax, ay)
        if self.sheets is not None:
            kernels.convergence(x, y, self.sheets[:, 0], self.sheets[:, 1], self.sheets[:, 2], ax, ay)
        for c in self.others:
            fx, fy = _lenstronomy_profile(c.profile).derivatives(x, y, **c.kwargs)
            ax += fx
            ay += fy
        return ax, ay


def planes(system: LensSystem) -> list[Plane]:
    """The system's deflectors grouped by redshift (increasing), in their given order within a plane."""
    by_z: dict[float, list[Component]] = defaultdict(list)
    for c, z in zip(system.lens, system.lens_redshifts()):
        by_z[float(z)].append(c)
    beta = common_core_ratio(system.lens)
    out = []
    for z in sorted(by_z):
        comps = by_z[z]
        radial = [c for c in comps if c.profile in kernels.FAMILIES]
        sheets = [c for c in comps if c.profile == "CONVERGENCE"]
        others = [c for c in comps if c.profile not in kernels.FAMILIES and c.profile != "CONVERGENCE"]
        plane = Plane(z, others=others)
        if radial:
            plane.radial = radial_groups(radial, beta)
        if sheets:
            plane.sheets = np.array([(c.kwargs["kappa"], c.kwargs.get("ra_0", 0.0), c.kwargs.get("dec_0", 0.0)) for c in sheets])
        out.append(plane)
    return out


class LensTracer:
    """Source-plane positions of rays through ``system`` (lenstronomy's conventions)."""

    def __init__(self, system: LensSystem) -> None:
        self.planes = planes(system)
        self.multi_plane = system.multi_plane
        if self.multi_plane:
            cosmo, zs = system.cosmology, system.z_source
            zs_list = [p.z for p in self.planes]
            self._steps = [_t_xy(cosmo, z0, z1) for z0, z1 in zip([0.0, *zs_list[:-1]], zs_list)]
            self._t_z = [_t_xy(cosmo, 0.0, z) for z in zs_list]
            self._factor = [_d_xy(cosmo, 0.0, zs) / _d_xy(cosmo, z, zs) for z in zs_list]
            self._t_last = _t_xy(cosmo, zs_list[-1], zs)
            self._t_source = _t_xy(cosmo, 0.0, zs)

    def ray_shooting(self, theta_x: np.ndarray, theta_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source-plane angles [arcsec] of rays seen at (theta_x, theta_y) [arcsec]."""
        theta_x = np.ascontiguousarray(theta_x, dtype=float)
        theta_y = np.ascontiguousarray(theta_y, dtype=float)
        if not self.multi_plane:
            ax, ay = np.zeros_like(theta_x), np.zeros_like(theta_y)
            for plane in self.planes:
                dx, dy = plane.deflection(theta_x, theta_y)
                ax += dx
                ay += dy
            return theta_x - ax, theta_y - ay
        x, y = np.zeros_like(theta_x), np.zeros_like(theta_y)
        alpha_x, alpha_y = theta_x.copy(), theta_y.copy()
        for plane, step, t_z, factor in zip(self.planes, self._steps, self._t_z, self._factor):
            x += alpha_x * step
            y += alpha_y * step
            dx, dy = plane.deflection(x / t_z, y / t_z)
            alpha_x -= dx * factor
            alpha_y -= dy * factor
        x += alpha_x * self._t_last
        y += alpha_y * self._t_last
        return x / self._t_source, y / self._t_source


class TracerLensModel:
    """What lenstronomy's ``ImageModel`` needs of a lens model, backed by a :class:`LensTracer`
    passed where lenstronomy passes its lens keyword arguments (one source plane)."""

    multi_plane = False

    def ray_shooting(self, x: np.ndarray, y: np.ndarray, tracer: LensTracer, k: Any = None) -> tuple[np.ndarray, np.ndarray]:
        return tracer.ray_shooting(x, y)
