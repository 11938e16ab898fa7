"""Renderer-independent description of one lensing system.

Profiles and parameter names follow lenstronomy's (SIE, EPL, SHEAR, POINT_MASS, TNFW, ...,
SERSIC_ELLIPSE, INTERPOL), the names used across the lensing literature and by pyHalo; a renderer
maps them to its own code. Angles in arcsec, masses in solar masses.

A deflector may carry its own redshift (line-of-sight halos from pyHalo); ``None`` means the main
lens plane. A system whose deflectors all lie on the lens plane is a single-plane lens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Profiles a renderer must understand: (required parameters, optional parameters).
PROFILE_PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # main deflectors
    "SIE": (("theta_E", "e1", "e2", "center_x", "center_y"), ()),
    "EPL": (("theta_E", "gamma", "e1", "e2", "center_x", "center_y"), ()),
    "SIS": (("theta_E", "center_x", "center_y"), ()),
    "SHEAR": (("gamma1", "gamma2"), ("ra_0", "dec_0")),
    "CONVERGENCE": (("kappa",), ("ra_0", "dec_0")),
    # substructure (pyHalo emits these; DeepLense recipes use point masses)
    "POINT_MASS": (("theta_E", "center_x", "center_y"), ()),
    "NFW": (("Rs", "alpha_Rs", "center_x", "center_y"), ()),
    "TNFW": (("Rs", "alpha_Rs", "r_trunc", "center_x", "center_y"), ()),
    "TNFWC": (("Rs", "alpha_Rs", "r_trunc", "r_core", "center_x", "center_y"), ()),
    "CNFW": (("Rs", "alpha_Rs", "r_core", "center_x", "center_y"), ()),
    "ULDM": (("kappa_0", "theta_c", "center_x", "center_y"), ("slope",)),
    "GNFW": (("Rs", "alpha_Rs", "gamma_in", "center_x", "center_y"), ()),
    "SPL_CORE": (("sigma0", "r_core", "gamma", "center_x", "center_y"), ()),
    "PSEUDO_DPL": (("Rs", "alpha_Rs", "gamma_inner", "gamma_outer", "center_x", "center_y"), ()),
    "GAUSSIAN": (("amp", "sigma", "center_x", "center_y"), ()),
    # light
    "SERSIC_ELLIPSE": (("amp", "R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y"), ()),
    "INTERPOL": (("image", "amp", "center_x", "center_y", "phi_G", "scale"), ()),
}


@dataclass(frozen=True)
class Component:
    """One profile with its parameters, e.g. ``Component("SIE", {"theta_E": 1.2, ...})``.

    ``redshift`` is the deflector's plane (None: the main lens plane)."""

    profile: str
    kwargs: dict[str, Any]
    redshift: float | None = None

    def __post_init__(self) -> None:
        spec = PROFILE_PARAMETERS.get(self.profile)
        if spec is None:
            raise ValueError(f"unknown profile {self.profile!r}; known: {', '.join(PROFILE_PARAMETERS)}")
        required, optional = spec
        given = set(self.kwargs)
        if not set(required) <= given or not given <= set(required) | set(optional):
            raise ValueError(
                f"{self.profile} needs parameters {required} (optional {optional}), got {tuple(self.kwargs)}"
            )


@dataclass(frozen=True)
class LensSystem:
    """Everything physical about one image: deflectors (main lens, shear, substructure) and light
    (amplitudes of the reference band; a renderer scales them per band)."""

    z_lens: float
    z_source: float
    lens: list[Component]
    source_light: list[Component]
    lens_light: list[Component] = field(default_factory=list)
    cosmology: tuple[float, float, float] = (70.0, 0.3, 0.05)  # flat ΛCDM (H0, Om0, Ob0)

    def lens_redshifts(self) -> list[float]:
        """The plane of every deflector (the main lens plane where none is given)."""
        return [self.z_lens if c.redshift is None else float(c.redshift) for c in self.lens]

    @property
    def multi_plane(self) -> bool:
        """True when some deflector lies off the main lens plane."""
        return any(z != self.z_lens for z in self.lens_redshifts())
