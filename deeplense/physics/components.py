"""Renderer-independent description of one lensing system.

Profiles and parameter names follow lenstronomy's (SIE, SHEAR, POINT_MASS, SERSIC_ELLIPSE), the
names used across the lensing literature; a renderer maps them to its own code. Angles in arcsec,
masses in solar masses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Profiles a renderer must understand, with their parameter names.
PROFILE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "SIE": ("theta_E", "e1", "e2", "center_x", "center_y"),
    "SHEAR": ("gamma1", "gamma2"),
    "POINT_MASS": ("theta_E", "center_x", "center_y"),
    "SERSIC_ELLIPSE": ("amp", "R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y"),
}


@dataclass(frozen=True)
class Component:
    """One profile with its parameters, e.g. ``Component("SIE", {"theta_E": 1.2, ...})``."""

    profile: str
    kwargs: dict[str, float]

    def __post_init__(self) -> None:
        expected = PROFILE_PARAMETERS.get(self.profile)
        if expected is None:
            raise ValueError(f"unknown profile {self.profile!r}; known: {', '.join(PROFILE_PARAMETERS)}")
        if set(self.kwargs) != set(expected):
            raise ValueError(f"{self.profile} needs parameters {expected}, got {tuple(self.kwargs)}")


@dataclass(frozen=True)
class LensSystem:
    """Everything physical about one image: deflectors (main lens, shear, substructure) and light."""

    z_lens: float
    z_source: float
    lens: list[Component]
    source_light: list[Component]
    lens_light: list[Component] = field(default_factory=list)
