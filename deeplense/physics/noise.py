"""Detector noise: Poisson photon noise on the exposure plus Gaussian background, the noise model
of lenstronomy's SimAPI, drawn from the image's own stream (lenstronomy's helpers use the global
numpy RNG, which would break reproducibility)."""

from __future__ import annotations

import numpy as np


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
