"""One image from its dataset config, class and seed, top to bottom: draw the physical system
(deeplense.physics.system), render it in every band with the dataset's backend, add the detector
noise (deeplense.physics.noise), and return the image with the record of every drawn value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deeplense.physics.components import LensSystem
from deeplense.physics.distributions import draw
from deeplense.physics.noise import observe
from deeplense.physics.system import draw_system
from deeplense.simulation.backends import render_parts_function
from deeplense.simulation.seeds import image_streams

if TYPE_CHECKING:
    from deeplense.config import ClassConfig, DatasetConfig


@dataclass(frozen=True)
class SimulatedImage:
    image: np.ndarray  # (band, y, x) float32, noisy, counts/s
    noiseless: np.ndarray  # (band, y, x) float64
    record: dict[str, float]


def render_bands(system: LensSystem, dataset: DatasetConfig) -> np.ndarray:
    """Noiseless (band, y, x) image from the dataset's backend: each band scales source and lens
    light and has its PSF."""
    inst = dataset.instrument
    render_parts = render_parts_function(dataset.backend)
    parts: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    out = np.empty(inst.image_shape)
    for b, band in enumerate(inst.bands):
        fwhm = band.psf_fwhm or inst.psf_fwhm
        if fwhm not in parts:
            parts[fwhm] = render_parts(system, inst.num_pix, inst.pixel_scale, fwhm, inst.supersampling)
        src, light = parts[fwhm]
        out[b] = src if band.source_scale == 1.0 and not system.lens_light else (
            band.source_scale * src + band.lens_light_scale * light
        )
    return out


def simulate_image(dataset: DatasetConfig, cls: ClassConfig, seed: int) -> SimulatedImage:
    """Simulate one image of class ``cls`` from its 64-bit ``seed`` alone."""
    streams = image_streams(seed)
    system, record = draw_system(dataset, cls, streams)
    exposure = draw(dataset.instrument.exposure_time, streams["instrument"])
    noiseless = render_bands(system, dataset)
    image, snr = observe(noiseless, dataset.instrument, exposure, streams["noise"])
    return SimulatedImage(image, noiseless, {**record, "exposure_time": exposure, **snr})
