"""Renders a ``LensSystem`` with lenstronomy: ray-tracing, PSF convolution, pixel grid.

The only place lenstronomy is imported for imaging; a second backend (PyAutoLens) implements the
same ``render`` signature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from deeplense.physics.components import LensSystem


@lru_cache(maxsize=8)
def _grid(num_pix: int, pixel_scale: float, psf_fwhm: float) -> tuple[ImageData, PSF]:
    """Pixel grid centred on the lens and Gaussian PSF; identical for all images of a dataset."""
    kwargs_data = simulation_util.data_configure_simple(num_pix, pixel_scale, exposure_time=1.0, background_rms=1.0)
    psf = PSF(psf_type="GAUSSIAN", fwhm=psf_fwhm, pixel_size=pixel_scale, truncation=5)
    return ImageData(**kwargs_data), psf


def render(
    system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int = 1
) -> np.ndarray:
    """Noiseless image [counts/s] of ``system`` as a (num_pix, num_pix) float64 array."""
    data, psf = _grid(num_pix, pixel_scale, psf_fwhm)
    lens_model = LensModel([c.profile for c in system.lens])
    source = LightModel([c.profile for c in system.source_light])
    lens_light = LightModel([c.profile for c in system.lens_light]) if system.lens_light else None
    model = ImageModel(
        data,
        psf,
        lens_model_class=lens_model,
        source_model_class=source,
        lens_light_model_class=lens_light,
        kwargs_numerics={"supersampling_factor": supersampling},
    )
    image = model.image(
        kwargs_lens=[c.kwargs for c in system.lens],
        kwargs_source=[c.kwargs for c in system.source_light],
        kwargs_lens_light=[c.kwargs for c in system.lens_light] or None,
        source_add=True,
        lens_light_add=bool(system.lens_light),
        point_source_add=False,
    )
    return np.asarray(image, dtype=np.float64)
