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


def git_commit() -> str:
    """The commit of the deeplense checkout that produced an output (``+dirty`` with uncommitted
    changes), or "unknown" outside a git checkout; never fails."""
    import subprocess
    from pathlib import Path

    root = Path(deeplense.__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
