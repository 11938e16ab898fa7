"""The input grid brought to the model's: pixel units, flux-conserving resampling, and the options
(`--crop`, `--resize`) each mismatch is told to pass."""

from __future__ import annotations

import numpy as np
import pytest

from deeplense.predict.geometry import GridFit, UnitError, fit_grid, overlap_matrix, pixel_units, regrid
from deeplense.predict.inputs import InputError


def test_resampling_conserves_flux_on_any_grid():
    rng = np.random.default_rng(1)
    image = rng.random((3, 2, 128, 128))
    for size in (64, 50, 200):  # merging, a non-integer ratio, dividing
        out = regrid(image, size)
        np.testing.assert_allclose(out.sum(axis=(2, 3)), image.sum(axis=(2, 3)), rtol=1e-5)
    # a surface brightness keeps its level: a flat image stays flat at its value
    np.testing.assert_allclose(regrid(np.full((1, 1, 128, 128), 3.0), 50, per_area=True), 3.0, rtol=1e-6)
    # a centred window that starts mid-pixel holds the flux of the area it covers
    np.testing.assert_allclose(regrid(np.ones((1, 1, 128, 128)), 64, window=102.4).sum(dtype=np.float64), 102.4**2, rtol=1e-6)
    assert overlap_matrix(4, 2).tolist() == [[1, 1, 0, 0], [0, 0, 1, 1]]
    assert overlap_matrix(2, 4).tolist() == [[0.5, 0], [0.5, 0], [0, 0.5], [0, 0.5]]


@pytest.mark.parametrize(("unit", "per_area"), [
    ("counts/s", False), ("e-/s", False), ("ADU", False), ("DN", False), ("Jy", False), ("nanomaggy", False), ("Jy/pixel", False),
    ("erg/(s cm2 Hz)", False), ("counts/s/arcsec2", True), ("MJy/sr", True), (None, False), ("", False),
])
def test_pixel_units_say_how_pixels_merge(unit, per_area):
    assert pixel_units(unit).per_area is per_area
    assert pixel_units(unit).describe()["assumed"] is (not unit)


@pytest.mark.parametrize(("unit", "why"), [("mag", "is logarithmic"), ("mag/arcsec2", "is logarithmic"), ("Jy/beam", "neither a flux"),
                                           ("K", "neither a flux"), ("furlong", "not a unit astropy reads")])
def test_units_that_cannot_be_resampled_are_refused(unit, why):
    with pytest.raises(UnitError, match=why) as e:
        pixel_units(unit)
    assert repr(unit) in str(e.value) and "allowed: a flux per pixel" in str(e.value)


def fit(shape, scale, **kw) -> GridFit:
    return fit_grid("x.fits: images", shape, scale, "m", 1, 64, 0.08, **kw)


def test_each_mismatch_names_the_options_that_fit_it():
    # a finer grid over a larger field (0.05″ × 128 = 6.4″ for a model of 5.12″): both options, and they work
    with pytest.raises(InputError, match=r"pass --crop --resize to cut the central 5.12″ and resample it to the model's grid$"):
        fit((1, 128, 128), 0.05)
    with pytest.raises(InputError, match=r"\(--resize alone is not enough\)"):
        fit((1, 128, 128), 0.05, resize=True)
    assert fit((1, 128, 128), 0.05, resize=True, crop=True) == GridFit(64, 102.4, True)
    with pytest.raises(InputError, match="pass --resize to resample them to the model's grid$"):
        fit((1, 128, 128), 0.04)
    with pytest.raises(InputError, match="pass --crop to cut the central 5.12″$"):
        fit((1, 100, 80), 0.08)
    assert fit((1, 100, 80), 0.08, crop=True) == GridFit(64, 64.0, False)
    with pytest.raises(InputError, match="cover less than the model's field of view, and no option pads them"):
        fit((1, 60, 60), 0.08, crop=True, resize=True)
    with pytest.raises(InputError, match="have 3 band"):
        fit((3, 64, 64), 0.08)
    # a predictions: entry is told the keys to set
    with pytest.raises(InputError, match="set crop: true and resize: true to cut"):
        fit((1, 128, 128), 0.05, config=True)


def test_crop_without_resampling_keeps_the_input_pixels():
    image = np.arange(100.0).reshape(1, 1, 10, 10)
    np.testing.assert_array_equal(GridFit(4, 4.0).apply(image), image[..., 3:7, 3:7])
    np.testing.assert_allclose(GridFit(2, 4.0, True).apply(image), image[..., 3:7, 3:7].reshape(1, 1, 2, 2, 2, 2).sum(axis=(3, 5)))
