"""Real-galaxy source images for INTERPOL sources (DeepLense Model IV uses real spiral galaxies):
a folder of .npy / .png / .fits files, or one .npy array of shape (n, y, x). Each image becomes a
2-D float64 array with peak 1 (so the config's ``amp`` is the peak surface brightness); files are
read in sorted name order, so an index in an image's record names the same galaxy on every run."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".png", ".fits", ".fit")


def _read(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".png":
        from matplotlib.image import imread

        return imread(path)
    from astropy.io import fits

    return fits.getdata(path)


def _as_2d(image: np.ndarray, where: str) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[-1] in (3, 4):  # RGB(A) picture: mean of the colour channels
        image = image[..., :3].mean(axis=-1)
    if image.ndim != 2 or min(image.shape) < 4:
        raise ValueError(f"source image {where}: expected a 2-D image (y, x), got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError(f"source image {where}: contains NaN or infinity")
    image = np.clip(image, 0.0, None)
    peak = image.max()
    if peak <= 0:
        raise ValueError(f"source image {where}: has no positive pixel")
    return image / peak


@lru_cache(maxsize=4)
def load_source_images(location: str) -> tuple[np.ndarray, ...]:
    """Every source image at ``location`` (folder or .npy array), normalised to peak 1."""
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise ValueError(f"source images {location}: no {'/'.join(SUFFIXES)} files in this folder")
        return tuple(_as_2d(_read(f), str(f)) for f in files)
    if path.suffix == ".npy" and path.exists():
        stack = np.load(path)
        if stack.ndim == 2:
            stack = stack[None]
        return tuple(_as_2d(img, f"{location}[{i}]") for i, img in enumerate(stack))
    raise ValueError(f"source images {location}: not a folder or an existing .npy file")
