"""Superfluid vortices (lines of point masses) and the PyAutoLens "sphere" clump."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from deeplense.physics.components import Component
from deeplense.physics.distributions import Param, PositiveParam, draw
from deeplense.physics.scenarios.base import LensContext, RecordField, Scenario, ScenarioParams, Substructure, point_masses, register_scenario


class VortexParams(ScenarioParams):
    """Superfluid dark-matter vortices: straight lines of equal point masses. PyAutoLens Model A/B
    "vort": n_points 25, length 1″, mass 1% of the halo."""

    n_vortices: int = Field(1, ge=1, le=20, description="number of vortex lines")
    n_points: int = Field(100, ge=2, description="point masses along each vortex line")
    mass: PositiveParam = Field(3e10, description="mass of each vortex [Msun]")
    length: PositiveParam = Field(1.0, description="full length of each line [arcsec]")
    offset_max: float = Field(0.0, ge=0, description="largest offset of a line centre from the lens centre [arcsec]")
    angle: Param | None = Field(
        None,
        description="orientation of each line [rad]; unset: uniform on [0, π) (centred) or [0, 2π) (pylensing)",
    )
    placement: Literal["centred", "pylensing"] = Field(
        "centred",
        description="centred: each line centred within offset_max of the lens centre; pylensing: placed "
        "as PyLensing's gen_data_vortex.py placed the published Model A/B vortices (see pylensing_line)",
    )

    @model_validator(mode="after")
    def _one_placement(self) -> "VortexParams":
        if self.placement == "pylensing" and self.offset_max > 0:
            raise ValueError(f"offset_max = {self.offset_max}: placement 'pylensing' fixes where the line lies; allowed: 0")
        return self


def pylensing_line(
    ctx: LensContext, rng: np.random.Generator, n_points: int, length: float, angle: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Positions (x, y) of a vortex as PyLensing (github.com/DeepLense-Unsupervised/PyLensing,
    lensing/gen_data_vortex.py) placed those of the published Model A/B data: the orientation θ is
    drawn in radians from U(0, 2π), but the start point, meant to be the lens centre less half the
    length along θ, converts θ as if it were degrees, so every line starts within 6.3° of one
    fixed point at length/2 from the centre; its ``n_points`` masses follow at spacing
    length/n_points along θ. PyAutoLens reads PyLensing's (x, y) centres as (y, x), and so does
    this. ``angle`` unset: drawn from U(0, 2π)."""
    if angle is None:
        angle = float(rng.uniform(0.0, 2.0 * np.pi))
    step = np.arange(n_points) * length / n_points
    along_y = -length / 2.0 * np.cos(np.radians(angle)) + step * np.cos(angle)
    along_x = -length / 2.0 * np.sin(np.radians(angle)) + step * np.sin(angle)
    return ctx.center_x + along_x, ctx.center_y + along_y, angle


def vortex_line(
    ctx: LensContext, rng: np.random.Generator, n_points: int, mass: float, length: float, offset_max: float,
    placement: str = "centred", angle: float | None = None,
) -> tuple[list[Component], float]:
    """``n_points`` equal point masses on a straight line of full ``length`` [arcsec] through a
    point within ``offset_max`` of the lens centre, at orientation ``angle`` (unset: uniformly
    random), or placed as PyLensing placed them (``pylensing_line``)."""
    masses = np.full(n_points, mass / n_points)
    if placement == "pylensing":
        x, y, angle = pylensing_line(ctx, rng, n_points, length, angle)
        return point_masses(ctx, masses, x, y), angle
    if angle is None:
        angle = float(rng.uniform(0.0, np.pi))
    off_r = float(rng.uniform(0.0, offset_max)) if offset_max > 0 else 0.0
    off_phi = float(rng.uniform(0.0, 2.0 * np.pi))
    cx = ctx.center_x + off_r * np.cos(off_phi)
    cy = ctx.center_y + off_r * np.sin(off_phi)
    s = np.linspace(-length / 2.0, length / 2.0, n_points)
    return point_masses(ctx, masses, cx + s * np.cos(angle), cy + s * np.sin(angle)), angle


@register_scenario("vortex")
class Vortex(Scenario):
    """Superfluid vortices (Berezhiani & Khoury 2015; lensing images: DeepLense, PyAutoLens Model A/B
    "vort"): ``n_vortices`` lines of ``n_points`` equal point masses of total ``mass`` each,
    full length ``length``, random orientations. Recorded: mass, length, angle (of the first line)."""

    Params = VortexParams
    record_fields = {
        "vortex_mass": RecordField("Msun", "mass of each vortex line (mean over the lines)"),
        "vortex_length": RecordField("arcsec", "full length of the first vortex line"),
        "vortex_angle": RecordField("rad", "orientation of the first vortex line: from the x axis (centred), from the y axis (pylensing)"),
        "n_vortices": RecordField("count", "vortex lines drawn"),
    }
    record_params = {"vortex_mass": "mass", "vortex_length": "length", "vortex_angle": "angle"}

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: VortexParams = self.params  # type: ignore[assignment]
        components: list[Component] = []
        total, angles, lengths = 0.0, [], []
        for _ in range(p.n_vortices):
            mass, length = draw(p.mass, rng), draw(p.length, rng)
            angle = None if p.angle is None else draw(p.angle, rng)
            line, angle = vortex_line(ctx, rng, p.n_points, mass, length, p.offset_max, p.placement, angle)
            components += line
            total += mass
            angles.append(angle)
            lengths.append(length)
        summary = {
            "n_halos": float(len(components)),
            "halo_mass_total": float(total),
            "vortex_mass": float(total / p.n_vortices),
            "vortex_length": float(lengths[0]),
            "vortex_angle": angles[0],
            "n_vortices": float(p.n_vortices),
        }
        return Substructure(components, summary)


# ---- sphere (PyAutoLens Model A/B) -------------------------------------------------------------
class SphereParams(ScenarioParams):
    """PyAutoLens Model A/B "sphere": equal point masses uniformly in radius within ``r_max``."""

    n_points: int = Field(25, ge=1)
    mass: PositiveParam = Field(1e10, description="total mass of the point masses [Msun]")
    r_max: float = Field(1.0, gt=0, description="largest radius from the lens centre [arcsec]")


@register_scenario("sphere")
class Sphere(Scenario):
    """A spherical clump of substructure: ``n_points`` equal point masses at radius U(0, r_max)
    and angle U(0, 2π) (PyAutoLens Model A/B, Alexander et al. 2023)."""

    Params = SphereParams

    def draw(self, ctx: LensContext, rng: np.random.Generator) -> Substructure:
        p: SphereParams = self.params  # type: ignore[assignment]
        mass = draw(p.mass, rng)
        r = rng.uniform(0.0, p.r_max, size=p.n_points)
        phi = rng.uniform(0.0, 2.0 * np.pi, size=p.n_points)
        masses = np.full(p.n_points, mass / p.n_points)
        comps = point_masses(ctx, masses, ctx.center_x + r * np.cos(phi), ctx.center_y + r * np.sin(phi))
        return Substructure(comps, {"n_halos": float(p.n_points), "halo_mass_total": float(mass)})
