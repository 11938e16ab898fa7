"""Renders a ``LensSystem`` with PyAutoLens: the second backend beside ``lenstronomy_renderer``,
with the same ``render_parts`` / ``render`` signature and the same units (counts/s per pixel,
lenstronomy's pixel order). The convention mapping lives in ``autolens_mapping``.

The only module that imports PyAutoLens; it is imported lazily (``deeplense.simulation.backends``)
so the main environment never needs it. PyAutoLens runs in its own Python 3.12 environment
(``make autolens-env``, ``envs/autolens.yaml``).

Speed: PyAutoLens spends most of a small image building its (over-sampled) grid, and the padded
grid and PSF convolver it builds for every ``SimulatorImaging`` call. None of them depends on the
image: ``_frame`` builds them once per (grid, PSF, super-sampling) and every image of a dataset
reuses them (``benchmarks/simulate.py`` measures the gain).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import autolens as al
import numpy as np

from deeplense.physics.components import Component, LensSystem
from deeplense.simulation import autolens_mapping as mapping


class LenstronomySersic(al.lp.Sersic):
    """PyAutoLens's elliptical Sérsic with lenstronomy's b_n, so ``R_sersic`` means the same in
    both backends (see ``autolens_mapping``)."""

    @property
    def sersic_constant(self) -> float:
        return mapping.lenstronomy_sersic_constant(self.sersic_index)


@dataclass(frozen=True)
class Frame:
    """What every image of a dataset shares: the padded, over-sampled grid and the PSF."""

    grid: al.Grid2D  # (num_pix + kernel − 1)² pixels: light outside the image blurs into it
    psf: al.Convolver
    num_pix: int
    pad: int  # pixels cut from each side after convolution
    pixel_area: float  # arcsec², autolens surface brightness -> counts/s per pixel


def build_frame(num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int) -> Frame:
    """The padded grid and normalised Gaussian PSF (lenstronomy's kernel size) of one instrument."""
    k = mapping.psf_kernel_pixels(psf_fwhm, pixel_scale)
    side = num_pix + k - 1
    grid = al.Grid2D.uniform(
        shape_native=(side, side), pixel_scales=pixel_scale, over_sample_size=supersampling, respect_small_datasets=False
    )
    gaussian = al.Convolver.from_gaussian(
        shape_native=(k, k), pixel_scales=pixel_scale, sigma=psf_fwhm / mapping.FWHM_PER_SIGMA, normalize=True
    )
    # The convolver's state (blurring mask, FFT shapes) costs more than a 150×150 image: keep it.
    psf = al.Convolver(kernel=gaussian.kernel, state=gaussian.state_from(grid.mask))
    return Frame(grid, psf, num_pix, (k - 1) // 2, pixel_scale**2)


@lru_cache(maxsize=8)
def _frame(num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int) -> Frame:
    """``build_frame``, once per instrument configuration."""
    return build_frame(num_pix, pixel_scale, psf_fwhm, supersampling)


def _profile(module: object, comp: mapping.AutolensProfile) -> object:
    """The PyAutoLens profile object of ``comp`` (from ``al.mp`` or ``al.lp``)."""
    if comp.name == "Sersic":
        return LenstronomySersic(**comp.kwargs)
    return getattr(module, comp.name)(**comp.kwargs)


def mass_galaxy(system: LensSystem) -> al.Galaxy:
    """One galaxy at the lens redshift holding every deflector (single-plane systems only)."""
    if system.multi_plane:
        raise mapping.UnsupportedByAutolens(
            "deflectors off the main lens plane (line-of-sight halos) are not supported by backend 'autolens'; "
            "use backend 'lenstronomy' for pyHalo line-of-sight populations"
        )
    profiles = {f"mass_{i}": _profile(al.mp, mapping.mass_profile(c)) for i, c in enumerate(system.lens)}
    return al.Galaxy(redshift=system.z_lens, **profiles)


def light_galaxy(components: list[Component], redshift: float) -> al.Galaxy:
    """One galaxy holding the light profiles ``components``."""
    profiles = {f"light_{i}": _profile(al.lp, mapping.light_profile(c)) for i, c in enumerate(components)}
    return al.Galaxy(redshift=redshift, **profiles)


def observe(image: al.Array2D, frame: Frame) -> np.ndarray:
    """PSF-convolve a padded-grid image, trim the padding, turn it into lenstronomy's pixel order
    (row 0 at the lowest y) and units (counts/s per pixel)."""
    with warnings.catch_warnings():  # it warns that no blurring image is given: the padding is one
        warnings.filterwarnings("ignore", message="No blurring_image provided")
        blurred = np.asarray(frame.psf.convolved_image_from(image=image, blurring_image=None).native)
    p, n = frame.pad, frame.num_pix
    return np.ascontiguousarray(blurred[p : p + n, p : p + n][::-1], dtype=np.float64) * frame.pixel_area


def render_with_frame(system: LensSystem, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(lensed source, lens light) of ``system`` on ``frame``."""
    tracer = al.Tracer(galaxies=[mass_galaxy(system), light_galaxy(system.source_light, system.z_source)])
    src = observe(tracer.image_2d_from(grid=frame.grid), frame)
    if not system.lens_light:
        return src, np.zeros_like(src)
    light = observe(light_galaxy(system.lens_light, system.z_lens).image_2d_from(grid=frame.grid), frame)
    return src, light


def render_parts(
    system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless lensed-source and lens-light images [counts/s], each (num_pix, num_pix) float64,
    as ``lenstronomy_renderer.render_parts``."""
    return render_with_frame(system, _frame(num_pix, pixel_scale, psf_fwhm, supersampling))


def render(
    system: LensSystem, num_pix: int, pixel_scale: float, psf_fwhm: float, supersampling: int = 1
) -> np.ndarray:
    """Noiseless image [counts/s] of ``system`` (source plus lens light) as (num_pix, num_pix)."""
    src, light = render_parts(system, num_pix, pixel_scale, psf_fwhm, supersampling)
    return src + light


def deflections(system: LensSystem, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(α_x, α_y) [arcsec] of ``system``'s deflectors at the points (x, y), lenstronomy's order."""
    grid = al.Grid2DIrregular(values=np.stack([np.ravel(y), np.ravel(x)], axis=1))
    alpha = np.asarray(mass_galaxy(system).deflections_yx_2d_from(grid=grid))
    return alpha[:, 1].reshape(np.shape(x)), alpha[:, 0].reshape(np.shape(x))
