"""Bringing an input's pixel grid to the model's: what its pixel values mean (their units), which
options fit it to the model (``--crop``, ``--resize``), and the flux-conserving resampling.

Pixel units decide how pixels merge. A flux per pixel (counts/s, e-/s, ADU, Jy: the deeplense
store's ``counts/s``) is summed when pixels merge and split by area when they divide, so an image's
total flux is the same on any grid; a surface brightness (anything per solid angle: counts/s/arcsec²,
MJy/sr) is averaged over the area. Inputs that record no unit are taken as a flux per pixel, as
the training images are. Other units (magnitudes, per beam, temperatures) are refused: summing or
averaging them means nothing.

Resampling is exact area weighting: each output pixel takes, from every input pixel, the fraction
of that pixel it covers (``overlap_matrix``), along y and along x. The output grid may sit on a
centred window of the input that starts mid-pixel (``--crop`` with ``--resize``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

PIXEL_SCALE_RTOL = 1e-3
COUNT_UNITS = {"ct", "electron", "adu", "DN", "ph", "mgy"}  # astropy's names of count-like units
ALLOWED_UNITS = ("a flux per pixel (counts/s, e-/s, ADU, DN, Jy, nanomaggy, erg/(s cm2 Hz), optionally /pixel), "
                 "summed when pixels merge; or a surface brightness (the same per arcsec2 or per sr), averaged")
_ALIASES = {"counts": "ct", "count": "ct", "ADU": "adu", "electrons": "electron", "photons": "ph", "photon": "ph",
            "pixel": "pix", "pixels": "pix", "nanomaggies": "nmgy", "nanomaggy": "nmgy"}


class UnitError(ValueError):
    """A pixel unit that cannot be resampled; the message names it and what is allowed."""


@dataclass(frozen=True)
class PixelUnits:
    """What an input's pixel values are: ``unit`` as recorded (None: not recorded), and whether
    they are per solid angle (averaged when resampled) rather than per pixel (summed)."""

    unit: str | None
    per_area: bool = False

    def describe(self) -> dict[str, Any]:
        kind = "surface brightness (averaged when resampled)" if self.per_area else "flux per pixel (summed when pixels merge)"
        return {"unit": self.unit, "kind": kind, "assumed": self.unit is None}


def pixel_units(unit: str | None) -> PixelUnits:
    """The ``PixelUnits`` of a recorded unit string (a FITS ``BUNIT``, a Zarr ``units`` attribute),
    or a ``UnitError`` saying why it cannot be resampled (see the module docstring)."""
    import warnings

    import astropy.units as u

    if unit is None or not str(unit).strip():
        return PixelUnits(None)
    text = re.sub(r"(?<![A-Za-z])e-(?![A-Za-z0-9])", "electron", str(unit).strip())
    text = re.sub(r"[A-Za-z]+", lambda m: _ALIASES.get(m.group(0), m.group(0)), text)
    try:
        with warnings.catch_warnings():  # "multiple slashes": FITS discourages counts/s/arcsec2, astropy reads it
            warnings.simplefilter("ignore", u.UnitsWarning)
            parsed = u.Unit(text, parse_strict="raise")
    except ValueError:
        raise UnitError(f"pixel unit {unit!r} is not a unit astropy reads; allowed: {ALLOWED_UNITS}") from None
    if isinstance(parsed, u.FunctionUnitBase) or "dex" in {str(b) for b in parsed.decompose().bases}:
        raise UnitError(f"pixel unit {unit!r} is logarithmic (magnitudes): pixels in it cannot be summed or averaged; "
                        f"allowed: {ALLOWED_UNITS}")
    powers = {str(b): p for b, p in zip(parsed.decompose().bases, parsed.decompose().powers)}
    angle, pix = powers.pop("rad", 0), powers.pop("pix", 0)
    core = parsed * u.sr ** (-angle / 2) * u.pix ** (-pix)
    counts = [b for b in powers if b in COUNT_UNITS]
    flux_like = (len(counts) == 1 and powers[counts[0]] == 1 and set(powers) <= {counts[0], "s"}) or "flux" in str(core.physical_type)
    if not flux_like or angle not in (0, -2) or pix not in (0, -1) or (angle and pix):
        raise UnitError(f"pixel unit {unit!r} is neither a flux per pixel nor a surface brightness; allowed: {ALLOWED_UNITS}")
    return PixelUnits(str(unit), per_area=angle == -2)


def overlap_matrix(n_in: int, n_out: int, start: float = 0.0, length: float | None = None) -> np.ndarray:
    """(n_out, n_in): the fraction of input pixel j inside output pixel i, where the ``n_out``
    output pixels tile the input interval ``[start, start + length]`` (input pixel units; default
    the whole input). Each column sums to the fraction of that input pixel the window holds."""
    length = float(n_in) if length is None else float(length)
    edges = start + np.arange(n_out + 1) * (length / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    return np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)


def regrid(images: np.ndarray, size: int, per_area: bool = False, window: float | None = None) -> np.ndarray:
    """``(n, band, y, x)`` images on a ``size``×``size`` grid over the centred square of ``window``
    input pixels a side (default: the whole image), summing the flux each output pixel covers, or
    averaging it when ``per_area`` (a surface brightness)."""
    images = np.asarray(images, dtype=np.float32)
    ny, nx = images.shape[-2:]
    wy = overlap_matrix(ny, size, *(((ny - window) / 2, window) if window else (0.0, None)))
    wx = overlap_matrix(nx, size, *(((nx - window) / 2, window) if window else (0.0, None)))
    if per_area:  # an average over each output pixel's area, not a sum
        wy, wx = wy / wy.sum(1, keepdims=True), wx / wx.sum(1, keepdims=True)
    return np.einsum("iy,nbyx,jx->nbij", wy, images.astype(np.float64), wx, optimize=True).astype(np.float32)


@dataclass(frozen=True)
class GridFit:
    """How an input's images become the model's: a centred cut of ``crop`` input pixels (a whole
    number without resampling; a fraction when the resampled grid starts mid-pixel), then a
    resampling to ``size`` pixels in the input's ``units``; each step only when asked and needed."""

    size: int
    crop: float | None = None
    resample: bool = False
    units: PixelUnits = PixelUnits(None)

    def apply(self, images: np.ndarray) -> np.ndarray:
        """Input rows ``(n, band, y, x)`` on the model's grid."""
        if self.resample:
            return regrid(images, self.size, self.units.per_area, self.crop)
        if self.crop:
            n = int(round(self.crop))
            y0, x0 = (images.shape[-2] - n) // 2, (images.shape[-1] - n) // 2
            return np.ascontiguousarray(images[..., y0:y0 + n, x0:x0 + n])
        return images

    def describe(self) -> dict[str, Any]:
        return {"crop_pixels": self.crop, "resampled_to": self.size if self.resample else None, "pixel_units": self.units.describe()}


def _options(options: list[str], config: bool) -> str:
    """``--crop --resize`` as the command line takes them, or ``crop: true and resize: true`` as a
    ``predictions:`` entry does."""
    if not config:
        return " ".join(options)
    return " and ".join(f"{o.removeprefix('--')}: true" for o in options)


def fit_grid(
    subject: str, shape: tuple[int, int, int], scale: float | None, model: str, bands: int, size: int, model_scale: float | None,
    *, resize: bool = False, crop: bool = False, units: PixelUnits = PixelUnits(None), config: bool = False,
) -> GridFit:
    """The ``GridFit`` of images of ``shape`` (band, y, x) at ``scale`` ″/pixel (None: unknown) for
    model ``model`` (``bands`` × ``size``² at ``model_scale``), or an error that starts with
    ``subject`` (``input.fits: images``), says what the model expects, and names the options that
    make the images fit (``--crop``, ``--resize``, both; with ``config``, as ``predictions:`` keys)
    or why none can."""
    from deeplense.predict.inputs import InputError

    b, y, x = shape
    verb = "set" if config else "pass"
    expects = f"model {model} expects {bands} band(s) of {size}×{size} pixels" + (f" at {model_scale:g}″/pixel" if model_scale else "")
    if b != bands:
        raise InputError(f"{subject} have {b} band(s); {expects}")
    here = f"{subject} are {y}×{x} pixels; {expects}"
    if scale is None or model_scale is None:
        if crop:
            raise InputError(f"{here}; {_options(['--crop'], config)} cuts the model's field of view and needs the input's pixel "
                             "scale, which it does not record (a FITS PIXSCALE, CDELT2 or CD2_2; a Zarr pixel_scale attribute)")
        if (y, x) != (size, size) and not resize:
            raise InputError(f"{here}; {verb} {_options(['--resize'], config)} to resample them (the input records no pixel scale: "
                             "resampling then assumes they cover the model's field of view)")
        return GridFit(size, None, (y, x) != (size, size), units)
    fov, model_fov = min(y, x) * scale, size * model_scale
    at = f"{here}; they are at {scale:g}″/pixel (a field of view of {fov:.4g}″, the model's {model_fov:.4g}″)"
    if fov < model_fov * (1 - PIXEL_SCALE_RTOL):
        raise InputError(f"{at}: they cover less than the model's field of view, and no option pads them; cut larger images")
    same_scale = bool(np.isclose(scale, model_scale, rtol=PIXEL_SCALE_RTOL))
    larger = y != x or not np.isclose(fov, model_fov, rtol=PIXEL_SCALE_RTOL)
    needs = [o for o, need in (("--crop", larger), ("--resize", not same_scale)) if need]
    given = [o for o, on in (("--crop", crop), ("--resize", resize)) if on]
    if any(o not in given for o in needs):
        what = {("--crop",): f"cut the central {model_fov:.4g}″", ("--resize",): "resample them to the model's grid",
                ("--crop", "--resize"): f"cut the central {model_fov:.4g}″ and resample it to the model's grid"}[tuple(needs)]
        gave = f" ({_options(given, config)} alone is not enough)" if given else ""
        raise InputError(f"{at}: {verb} {_options(needs, config)} to {what}{gave}")
    window = round(model_fov / scale, 9) if larger else None
    if window is not None and same_scale:
        window = float(round(window))  # a cut of whole pixels: the input's own, not resampled
    return GridFit(size, window, not same_scale, units)
