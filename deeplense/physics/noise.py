"""Detector noise: Poisson photon noise on the exposure plus Gaussian background, the noise model
of lenstronomy's SimAPI, drawn from the image's own stream (lenstronomy's helpers use the global
numpy RNG, which would break reproducibility); and the signal-to-noise each image records.

Signal-to-noise ratio (recorded as ``snr``): the integrated S/N of the lensed light in the first
band, SNR = Σ S_i / sqrt(Σ σ_i²) over the pixels i where the noiseless image S exceeds the
background rms, with σ_i² = S_i / t + σ_bkg² the variance of the noise model (Poisson over the
exposure t plus Gaussian background). DeepLense did not record its definition; this one is the
standard aperture S/N with a 1σ_bkg isophote (``peak_snr`` is kept: the S/N of the brightest pixel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deeplense.config import InstrumentConfig


def add_noise(
    image: np.ndarray, exposure_time: float, background_rms: float, rng: np.random.Generator
) -> np.ndarray:
    """Noisy copy of ``image`` [counts/s]: Poisson counts over ``exposure_time`` s, then Gaussian
    background of ``background_rms`` counts/s."""
    if exposure_time <= 0:
        raise ValueError(f"exposure_time must be positive, got {exposure_time}")
    counts = rng.poisson(np.clip(image, 0.0, None) * exposure_time)
    noisy = counts / exposure_time
    if background_rms > 0:
        noisy = noisy + rng.normal(0.0, background_rms, size=image.shape)
    return noisy


def noise_sigma(image: np.ndarray, exposure_time: float, background_rms: float) -> np.ndarray:
    """Per-pixel standard deviation of ``add_noise`` for a noiseless ``image``."""
    return np.sqrt(np.clip(image, 0.0, None) / exposure_time + background_rms**2)


def integrated_snr(noiseless: np.ndarray, exposure_time: float, background_rms: float) -> float:
    """Σ S / sqrt(Σ σ²) over pixels with S > background_rms (see the module docstring)."""
    mask = noiseless > background_rms
    if not mask.any():
        return 0.0
    sigma = noise_sigma(noiseless[mask], exposure_time, background_rms)
    return float(noiseless[mask].sum() / np.sqrt((sigma**2).sum()))


def observe(
    noiseless: np.ndarray, instrument: "InstrumentConfig", exposure_time: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """The observed (band, y, x) float32 image of a noiseless one, and its ``peak_snr`` and ``snr``
    records: each band's noise drawn in band order from ``rng``, with the band's background
    (or the instrument's); NaN signal-to-noise for an instrument without noise."""
    if not instrument.noise:  # noiseless images, as the original DeepLense Models II and III
        return noiseless.astype(np.float32), {"peak_snr": float("nan"), "snr": float("nan")}
    backgrounds = [instrument.background_rms if band.background_rms is None else band.background_rms for band in instrument.bands]
    noisy = np.empty_like(noiseless)
    for b, background in enumerate(backgrounds):
        noisy[b] = add_noise(noiseless[b], exposure_time, background, rng)
    first = noiseless[0]
    peak = np.unravel_index(np.argmax(first), first.shape)
    record = {
        "peak_snr": float(first[peak] / noise_sigma(first[peak], exposure_time, backgrounds[0])),
        "snr": integrated_snr(first, exposure_time, backgrounds[0]),
    }
    return noisy.astype(np.float32), record
