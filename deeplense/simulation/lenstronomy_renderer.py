"""Renders a ``LensSystem`` with lenstronomy: ray-tracing (single- or multi-plane), PSF
convolution, pixel grid.

The only place lenstronomy is imported for imaging; a second backend (PyAutoLens) implements the
same ``render`` signature. Rays are traced by deeplense's kernels
(:class:`deeplense.simulation.raytracing.tracer.LensTracer`: all halos of a plane in one call,
planes traversed as lenstronomy's multi-plane model does, with the system's cosmology), plugged
into lenstronomy's ``ImageModel`` in place of its ``LensModel``; light profiles, supersampling and
PSF convolution are lenstronomy's. ``tracer=False`` renders with lenstronomy's own
``LensModel`` (the reference the tracer is tested against: source positions to 2e-9 arcsec, images
to 2e-9 of their peak, ``tests/test_raytracing.py``).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from deeplense.physics.components import LensSystem
from deeplense.physics.cosmology import flat_lcdm
from deeplense.simulation.raytracing.tracer import LensTracer, TracerLensModel


@lru_cache(maxsize=8)
def _grid(num_pix: int, pixel_scale: float, psf_fwhm: float) -> tuple[ImageData, PSF]:
    """Pixel grid centred on the lens and Gaussian PSF; identical for all images of a dataset."""
    kwargs_data = simulation_util.data_configure_simple(num_pix, pixel_scale, exposure_time=1.0, background_rms=1.0)
    psf = PSF(psf_type="GAUSSIAN", fwhm=psf_fwhm, pixel_size=pixel_scale, truncation=5)
    return ImageData(**kwargs_data), psf


def lens_model(system: LensSystem) -> LensModel:
    """lenstronomy's lens model of ``system``: multi-plane when deflectors lie on several planes."""
    profiles = [c.profile for c in system.lens]
    if not system.multi_plane:
        return LensModel(profiles)
    with warnings.catch_warnings():  # lenstronomy warns whenever a cosmology is passed in
        warnings.filterwarnings("ignore", message="Cosmology is provided")
        return LensModel(
            profiles,
            z_lens=system.z_lens,
            z_source=system.z_source,
            lens_redshift_list=system.lens_redshifts(),
            cosmo=flat_lcdm(*system.cosmology),
            multi_plane=True,
        )


@lru_cache(maxsize=32)
def _single_plane_model(
    lens: tuple[str, ...], source: tuple[str, ...], light: tuple[str, ...], grid: tuple[int, float, float], supersampling: int
) -> ImageModel:
    """An ImageModel for single-plane systems with these profile lists, built once: its
    construction costs as much as rendering a small image, and it holds no per-image state
    (tests/test_simulation.py checks images are identical whatever the order they are made in)."""
    data, psf = _grid(*grid)
    return ImageModel(
        data,
        psf,
        lens_model_class=LensModel(list(lens)),
        source_model_class=LightModel(list(source)),
        lens_light_model_class=LightModel(list(light)) if light else None,
        kwargs_numerics={"supersampling_factor": supersampling},
    )


def image_model(system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int) -> ImageModel:
    """lenstronomy's ImageModel of ``system`` with lenstronomy's LensModel (cached for
    single-plane, pixel-free profiles)."""
    source_profiles = tuple(c.profile for c in system.source_light)
    light_profiles = tuple(c.profile for c in system.lens_light)
    if not system.multi_plane and "INTERPOL" not in source_profiles + light_profiles:
        lens_profiles = tuple(c.profile for c in system.lens)
        return _single_plane_model(lens_profiles, source_profiles, light_profiles, (num_pix, pixel_scale, psf_fwhm), supersampling)
    data, psf = _grid(num_pix, pixel_scale, psf_fwhm)
    return ImageModel(
        data,
        psf,
        lens_model_class=lens_model(system),
        source_model_class=LightModel(list(source_profiles)),
        lens_light_model_class=LightModel(list(light_profiles)) if light_profiles else None,
        kwargs_numerics={"supersampling_factor": supersampling},
    )


def _traced_model_uncached(source: tuple[str, ...], light: tuple[str, ...], grid: tuple[int, float, float], supersampling: int) -> ImageModel:
    data, psf = _grid(*grid)
    return ImageModel(
        data,
        psf,
        lens_model_class=TracerLensModel(),
        source_model_class=LightModel(list(source)),
        lens_light_model_class=LightModel(list(light)) if light else None,
        kwargs_numerics={"supersampling_factor": supersampling},
    )


# An ImageModel with the tracer holds no per-image state (the tracer is passed per image)
_traced_model = lru_cache(maxsize=32)(_traced_model_uncached)


def traced_image_model(system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int) -> ImageModel:
    """lenstronomy's ImageModel with deeplense's tracer as its lens model (cached unless a light
    profile holds pixels)."""
    source_profiles = tuple(c.profile for c in system.source_light)
    light_profiles = tuple(c.profile for c in system.lens_light)
    build = _traced_model_uncached if "INTERPOL" in source_profiles + light_profiles else _traced_model
    return build(source_profiles, light_profiles, (num_pix, pixel_scale, psf_fwhm), supersampling)


def render_parts(
    system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int = 1, tracer: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless lensed-source and lens-light images [counts/s], each (num_pix, num_pix) float64:
    a band's image is a linear combination of the two (its light scalings). ``tracer=False``:
    lenstronomy's own lens model (the reference)."""
    if tracer:
        model = traced_image_model(system, num_pix, pixel_scale, psf_fwhm, supersampling)
        kwargs_lens = LensTracer(system)
    else:
        model = image_model(system, num_pix, pixel_scale, psf_fwhm, supersampling)
        kwargs_lens = [c.kwargs for c in system.lens]
    src = model.image(
        kwargs_lens=kwargs_lens,
        kwargs_source=[c.kwargs for c in system.source_light],
        source_add=True,
        lens_light_add=False,
        point_source_add=False,
    )
    if system.lens_light:
        light = model.image(
            kwargs_lens_light=[c.kwargs for c in system.lens_light],
            source_add=False,
            lens_light_add=True,
            point_source_add=False,
        )
    else:
        light = np.zeros_like(src)
    return np.asarray(src, dtype=np.float64), np.asarray(light, dtype=np.float64)


def render(
    system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int = 1, tracer: bool = True
) -> np.ndarray:
    """Noiseless image [counts/s] of ``system`` (source plus lens light) as (num_pix, num_pix)."""
    src, light = render_parts(system, num_pix, pixel_scale, psf_fwhm, supersampling, tracer)
    return src + light
