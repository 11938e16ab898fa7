"""The one place where deeplense's (lenstronomy's) conventions map onto PyAutoLens's.

deeplense describes a system with lenstronomy's profile names and parameters
(``deeplense.physics.components``); the PyAutoLens renderer (``autolens_renderer``) turns that
description into PyAutoLens objects with the functions below. Pure numpy, no PyAutoLens import:
the mapping is unit-tested in any environment, and tests/test_autolens.py checks every line of
this table against both codes (images to 1% of the peak, deflections on a grid).

=====================  ===============================  =========================================
quantity               lenstronomy / deeplense          PyAutoLens
=====================  ===============================  =========================================
coordinates            (x, y) = (ra, dec) [arcsec]      (y, x) tuples: ``centre=(center_y,
                                                        center_x)``, deflections (α_y, α_x)
pixel grid             row 0 at the lowest y (dec)      row 0 at the highest y: an autolens
                       (``data_configure_simple``),     image is flipped upside down
                       centred on (0, 0): pixel i at    (``image[::-1]``); both put the grid
                       (i − (n−1)/2) × pixel_scale      centre between pixels for even n
ellipticity            e1 = ε cos 2φ, e2 = ε sin 2φ,    ``ell_comps = (ε sin 2φ, ε cos 2φ)``
                       ε = (1 − q)/(1 + q)              = (e2, e1): the same ε and angle φ
                                                        (counter-clockwise from +x), swapped
SIE θ_E                κ = θ_E / (2 sqrt(q x² + y²/q))  κ = θ_E' q/(1+q) / sqrt(q² x² + y²):
                       (intermediate-axis)              θ_E' = θ_E (1 + q) / (2 sqrt(q))
EPL (slope γ)          κ = (3−γ)/2 (θ_E/sqrt(qx²+y²/q)) θ_E' = θ_E ((1+q)/2)^(1/(γ−1)) / sqrt(q),
                       ^(γ−1)                           ``slope = γ`` (``PowerLaw``)
SIS                    θ_E                              ``IsothermalSph(einstein_radius=θ_E)``
external shear         (gamma1, gamma2)                 ``ExternalShear(gamma_1, gamma_2)``: same
point mass             θ_E (α = θ_E² / r)               ``PointMass(einstein_radius=θ_E)``: same
NFW                    Rs, alpha_Rs (deflection at Rs)  ``NFWSph(scale_radius=Rs, kappa_s)``,
                                                        κ_s = alpha_Rs / (4 Rs (1 − ln 2))
truncated NFW (TNFW)   Rs, alpha_Rs, r_trunc            ``NFWTruncatedSph(..., truncation_radius
                       (Baltz et al. 2009)              = r_trunc)``, κ_s as for NFW
Sérsic light           amp = surface brightness at      ``Sersic(intensity=amp,
                       R_sersic, R = sqrt(q x'² +       effective_radius=R_sersic)``: the same
                       y'²/q); b_n = 1.9992 n − 0.3271  elliptical radius, but b_n from the
                                                        Ciotti & Bertin series: the renderer
                                                        uses lenstronomy's b_n (the default
                                                        differs by ≈ 0.6% of the peak at n = 1)
units                  counts/s per pixel               surface brightness per arcsec²: an
                                                        autolens image × pixel_scale² is
                                                        lenstronomy's
PSF                    Gaussian FWHM, kernel            ``Convolver.from_gaussian`` with
                       2 round(5σ/pixel) + 1 pixels     σ = FWHM / (2 sqrt(2 ln 2)), the same
                       (≤ 221), normalised              kernel size, normalised; autolens
                                                        renders a padded grid and trims it (no
                                                        zero padding at the edges)
super-sampling         ``supersampling_factor`` s       ``over_sample_size = s`` (uniform): the
                                                        same s × s sub-pixel centres
noise                  deeplense's own (physics.noise) on the noiseless image, whatever the
                       backend
=====================  ===============================  =========================================

Single-plane systems only: deflectors off the main lens plane (pyHalo line-of-sight halos) and
pixelated (INTERPOL) sources are refused when the config loads (``autolens_config_problem``), and
any other unmapped profile when it is rendered, with an error naming it and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deeplense.physics.components import Component

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
PSF_TRUNCATION = 5.0  # kernel half-size in σ, as the lenstronomy renderer's
NFW_ALPHA_PER_KAPPA = 4.0 * (1.0 - math.log(2.0))  # alpha_Rs = κ_s Rs × this

# lenstronomy profile -> PyAutoLens mass profile class (attribute of ``autolens.mp``)
MASS_PROFILES = {
    "SIE": "Isothermal",
    "SIS": "IsothermalSph",
    "EPL": "PowerLaw",
    "SHEAR": "ExternalShear",
    "CONVERGENCE": "MassSheet",
    "POINT_MASS": "PointMass",
    "NFW": "NFWSph",
    "TNFW": "NFWTruncatedSph",
}
LIGHT_PROFILES = {"SERSIC_ELLIPSE": "Sersic"}


class UnsupportedByAutolens(ValueError):
    """A profile (or a feature of one) that the PyAutoLens backend cannot render."""


@dataclass(frozen=True)
class AutolensProfile:
    """A PyAutoLens profile as data: its class name in ``autolens.mp``/``autolens.lp`` and kwargs."""

    name: str
    kwargs: dict[str, Any]


def centre(x: float, y: float) -> tuple[float, float]:
    """lenstronomy (center_x, center_y) -> PyAutoLens ``centre`` (y, x)."""
    return (float(y), float(x))


def ell_comps(e1: float, e2: float) -> tuple[float, float]:
    """lenstronomy (e1, e2) -> PyAutoLens ``ell_comps`` (same ε and angle, components swapped)."""
    return (float(e2), float(e1))


def e1e2(ell: tuple[float, float]) -> tuple[float, float]:
    """PyAutoLens ``ell_comps`` -> lenstronomy (e1, e2)."""
    return (float(ell[1]), float(ell[0]))


def axis_ratio(e1: float, e2: float) -> float:
    """q = (1 − ε)/(1 + ε), ε = sqrt(e1² + e2²) (both codes)."""
    eps = min(math.hypot(e1, e2), 0.9999)
    return (1.0 - eps) / (1.0 + eps)


def einstein_radius(theta_e: float, e1: float, e2: float, gamma: float = 2.0) -> float:
    """PyAutoLens ``einstein_radius`` of lenstronomy's SIE/EPL with the same convergence:
    θ_E ((1 + q)/2)^(1/(γ − 1)) / sqrt(q) (θ_E (1 + q) / (2 sqrt q) for the SIE, γ = 2)."""
    q = axis_ratio(e1, e2)
    return float(theta_e * ((1.0 + q) / 2.0) ** (1.0 / (gamma - 1.0)) / math.sqrt(q))


def nfw_kappa_s(rs: float, alpha_rs: float) -> float:
    """PyAutoLens ``kappa_s`` of lenstronomy's NFW normalisation ``alpha_Rs`` at ``Rs``."""
    return float(alpha_rs / (NFW_ALPHA_PER_KAPPA * rs))


def lenstronomy_sersic_constant(n: float) -> float:
    """b_n of lenstronomy's Sérsic profiles (the renderer's PyAutoLens Sérsic uses it)."""
    return max(1.9992 * n - 0.3271, 1e-5)


def psf_kernel_pixels(psf_fwhm: float, pixel_scale: float) -> int:
    """Odd side of the Gaussian PSF kernel [pixels], lenstronomy's rule: 2 round(5σ/pixel) + 1, ≤ 221."""
    radius = max(round(PSF_TRUNCATION * psf_fwhm / FWHM_PER_SIGMA / pixel_scale), 1)
    return min(2 * radius + 1, 221)


def autolens_config_problem(source_profile: str, classes: list[tuple[str, dict[str, Any]]]) -> str | None:
    """Why a dataset cannot use backend 'autolens' (naming the field, its value and what is
    allowed), or None: checked when the config is loaded, before any job runs."""
    if source_profile not in LIGHT_PROFILES:
        return (
            f"backend 'autolens' renders Sérsic sources only, got source.profile = {source_profile!r}; "
            f"allowed with autolens: {', '.join(LIGHT_PROFILES)} (or use backend 'lenstronomy')"
        )
    for name, params in classes:
        los = params.get("LOS_normalization", 0.0)
        if los:
            return (
                f"backend 'autolens' renders single-plane lenses only, got classes[{name}].params.LOS_normalization "
                f"= {los!r} (line-of-sight halos); allowed with autolens: 0 (or use backend 'lenstronomy')"
            )
    return None


def _no_shift(comp: Component) -> None:
    for key in ("ra_0", "dec_0"):
        if comp.kwargs.get(key, 0.0) != 0.0:
            raise UnsupportedByAutolens(f"{comp.profile} with {key} = {comp.kwargs[key]!r}: allowed with autolens: 0")


def mass_profile(comp: Component) -> AutolensProfile:
    """The PyAutoLens mass profile of one deflector (see the module table)."""
    kw = comp.kwargs
    if comp.profile not in MASS_PROFILES:
        raise UnsupportedByAutolens(
            f"deflector profile {comp.profile!r} has no PyAutoLens mapping; allowed: {', '.join(MASS_PROFILES)}"
        )
    name = MASS_PROFILES[comp.profile]
    if comp.profile in ("SHEAR", "CONVERGENCE"):
        _no_shift(comp)
        if comp.profile == "SHEAR":
            return AutolensProfile(name, {"gamma_1": float(kw["gamma1"]), "gamma_2": float(kw["gamma2"])})
        return AutolensProfile(name, {"kappa": float(kw["kappa"])})
    out: dict[str, Any] = {"centre": centre(kw["center_x"], kw["center_y"])}
    if comp.profile in ("SIE", "EPL"):
        gamma = float(kw.get("gamma", 2.0))
        out["ell_comps"] = ell_comps(kw["e1"], kw["e2"])
        out["einstein_radius"] = einstein_radius(kw["theta_E"], kw["e1"], kw["e2"], gamma)
        if comp.profile == "EPL":
            out["slope"] = gamma
    elif comp.profile in ("SIS", "POINT_MASS"):
        out["einstein_radius"] = float(kw["theta_E"])
    else:  # NFW family
        out["kappa_s"] = nfw_kappa_s(kw["Rs"], kw["alpha_Rs"])
        out["scale_radius"] = float(kw["Rs"])
        if comp.profile == "TNFW":
            out["truncation_radius"] = float(kw["r_trunc"])
    return AutolensProfile(name, out)


def light_profile(comp: Component) -> AutolensProfile:
    """The PyAutoLens light profile of one Sérsic component (``intensity`` per arcsec²)."""
    if comp.profile not in LIGHT_PROFILES:
        raise UnsupportedByAutolens(
            f"light profile {comp.profile!r} has no PyAutoLens mapping; allowed: {', '.join(LIGHT_PROFILES)}"
        )
    kw = comp.kwargs
    return AutolensProfile(
        LIGHT_PROFILES[comp.profile],
        {
            "centre": centre(kw["center_x"], kw["center_y"]),
            "ell_comps": ell_comps(kw["e1"], kw["e2"]),
            "intensity": float(kw["amp"]),
            "effective_radius": float(kw["R_sersic"]),
            "sersic_index": float(kw["n_sersic"]),
        },
    )
