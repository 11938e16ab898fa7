"""Software versions recorded with every store and model, so any number traces back to code."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import deeplense

TRACKED_PACKAGES = ("lenstronomy", "pyHalo", "colossus", "numpy", "scipy", "astropy", "zarr", "xarray", "dask")


def software_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of deeplense and the packages its outputs depend on."""
    out = {"deeplense": deeplense.__version__}
    for name in TRACKED_PACKAGES + extra:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
