"""Instrument presets: pixel grid, PSF and noise of the telescopes the field simulates.

A preset is a dict of ``InstrumentConfig`` defaults; the config may override any field. Adding one
means registering one function that returns that dict. Euclid VIS and HST backgrounds come from
lenstronomy's observation configurations (``lenstronomy.SimulationAPI.ObservationConfig``) through
its ``SingleBand`` noise model (sky, read noise, exposures) – the values, not the code, are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from deeplense.registry import Registry

INSTRUMENTS: Registry[Callable[[], dict]] = Registry("instrument preset")
register_instrument = INSTRUMENTS.register


@lru_cache(maxsize=8)
def single_band_background(observatory: str, band: str, **overrides: float) -> tuple[float, float, float, float]:
    """(pixel_scale, seeing FWHM, total exposure [s], background rms [counts/s]) of a lenstronomy
    observation config with ``overrides`` (e.g. the DeepLense Model II values)."""
    import importlib

    from lenstronomy.SimulationAPI.observation_api import SingleBand

    module = importlib.import_module(f"lenstronomy.SimulationAPI.ObservationConfig.{observatory}")
    kwargs = {**getattr(module, observatory)(band=band, psf_type="GAUSSIAN").kwargs_single_band(), **overrides}
    sb = SingleBand(**kwargs)
    exposure = kwargs["exposure_time"] * kwargs.get("num_exposures", 1)
    return float(kwargs["pixel_scale"]), float(kwargs["seeing"]), float(exposure), float(sb.background_noise)


@register_instrument("custom")
def custom() -> dict:
    """No preset: every field comes from the config or InstrumentConfig's defaults."""
    return {}


@register_instrument("deeplense_model_i")
def deeplense_model_i() -> dict:
    """DeepLense "Model I": 150×150 at 0.05″/px, Gaussian PSF FWHM 0.087″, background rms 1e-2,
    exposure 10^U(3, 3.5) s with Poisson noise (ML4SCI DeepLense, Model I simulations)."""
    return {
        "num_pix": 150,
        "pixel_scale": 0.05,
        "psf_fwhm": 0.087,
        "background_rms": 1e-2,
        "exposure_time": {"dist": "log_uniform", "low": 1e3, "high": 10**3.5},
    }


@register_instrument("euclid_vis")
def euclid_vis() -> dict:
    """Euclid VIS (DeepLense "Model II"): 64×64 at 0.101″/px, Gaussian PSF FWHM 0.16″, 565 s × 4
    exposures, sky 22.35 mag/″², zero point 24.0, read noise 4.2 e⁻, gain 3.1 (lenstronomy's
    Euclid VIS configuration with the DeepLense values)."""
    pixel, seeing, exposure, bkg = single_band_background(
        "Euclid", "VIS", exposure_time=565.0, num_exposures=4, sky_brightness=22.35, magnitude_zero_point=24.0,
        read_noise=4.2, ccd_gain=3.1,
    )
    return {"num_pix": 64, "pixel_scale": pixel, "psf_fwhm": seeing, "background_rms": bkg, "exposure_time": exposure}


@register_instrument("hst_wfc3")
def hst_wfc3() -> dict:
    """HST-like (DeepLense "Model III"): lenstronomy's HST WFC3/F160W defaults (0.08″/px, PSF FWHM
    0.08″, 5400 s, sky 22.3 mag/″², zero point 25.96, read noise 4 e⁻) on a 64×64 grid."""
    pixel, seeing, exposure, bkg = single_band_background("HST", "WFC3_F160W")
    return {"num_pix": 64, "pixel_scale": pixel, "psf_fwhm": seeing, "background_rms": bkg, "exposure_time": exposure}


def with_preset(instrument: dict) -> dict:
    """An instrument section of a config with its ``preset``'s values under the fields it sets
    itself (an unknown preset is left for the config's validation to name)."""
    name = instrument.get("preset", "custom")
    if not isinstance(name, str) or name not in INSTRUMENTS:
        return instrument
    return {**INSTRUMENTS.get(name)(), **instrument}
