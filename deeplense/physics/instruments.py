"""Instrument presets: pixel grid, PSF and noise of the telescopes the field simulates.

A preset is a dict of ``InstrumentConfig`` defaults; the config may override any field. Adding one
means registering one function that returns that dict.
"""

from __future__ import annotations

from collections.abc import Callable

from deeplense.registry import Registry

INSTRUMENTS: Registry[Callable[[], dict]] = Registry("instrument preset")
register_instrument = INSTRUMENTS.register


@register_instrument("custom")
def custom() -> dict:
    """No preset: every field comes from the config or InstrumentConfig's defaults."""
    return {}


@register_instrument("deeplense_model_i")
def deeplense_model_i() -> dict:
    """DeepLense "Model I": 150×150 at 0.05″/px, Gaussian PSF FWHM 0.087″, background rms 1e-2,
    exposure 10^U(3, 3.5) s with Poisson noise (shared/PHYSICS.md §1)."""
    return {
        "num_pix": 150,
        "pixel_scale": 0.05,
        "psf_fwhm": 0.087,
        "background_rms": 1e-2,
        "exposure_time": {"dist": "log_uniform", "low": 1e3, "high": 10**3.5},
    }
