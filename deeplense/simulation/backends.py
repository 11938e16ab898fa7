"""Renderer backends: the dataset's ``backend`` names the module that turns a ``LensSystem`` into
noiseless images. Each is imported only when a dataset asks for it (PyAutoLens lives in its own
environment, see ``autolens_renderer``)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from deeplense.physics.components import LensSystem

RenderParts = Callable[..., tuple[np.ndarray, np.ndarray]]

# backend -> (renderer module, the package whose version the images depend on)
BACKENDS = {
    "lenstronomy": ("deeplense.simulation.lenstronomy_renderer", "lenstronomy"),
    "autolens": ("deeplense.simulation.autolens_renderer", "autolens"),
}


# The `deeplense` of PyAutoLens's environment: $DEEPLENSE_AUTOLENS (the Makefile exports it), else
# the repository's .venv-autolens (`make autolens-env`).
AUTOLENS_ENV_VAR = "DEEPLENSE_AUTOLENS"
REPO = Path(__file__).resolve().parents[2]


class BackendUnavailable(RuntimeError):
    """The dataset's backend cannot be imported in this environment."""

    def __init__(self, message: str, backend: str) -> None:
        super().__init__(message)
        self.backend = backend


def autolens_executable() -> Path:
    """The `deeplense` command of PyAutoLens's environment (it may not exist yet)."""
    return Path(os.environ.get(AUTOLENS_ENV_VAR) or REPO / ".venv-autolens" / "bin" / "deeplense")


def run_in_backend_env(error: BackendUnavailable, argv: list[str]) -> int:
    """Run this `deeplense` command again in the backend's own environment; its exit status."""
    exe = autolens_executable()
    if error.backend != "autolens" or not exe.exists():
        print(f"{error}; {exe} does not exist", file=sys.stderr)
        return 3
    return subprocess.run([str(exe), *argv]).returncode


def render_parts_function(backend: str) -> RenderParts:
    """``render_parts(system, num_pix, pixel_scale, psf_fwhm, supersampling)`` of ``backend``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    module_name, package = BACKENDS[backend]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BackendUnavailable(
            f"backend {backend!r} needs {package}, which this environment cannot import ({e}); "
            "build its environment with `make autolens-env` and run `.venv-autolens/bin/deeplense`",
            backend,
        ) from e
    return module.render_parts


def backend_provenance(backend: str) -> dict[str, str]:
    """``{"backend": name, <package>: version}``: recorded with every shard and store."""
    package = BACKENDS[backend][1]
    try:
        return {"backend": backend, package: version(package)}
    except PackageNotFoundError:
        return {"backend": backend, package: "not installed"}
