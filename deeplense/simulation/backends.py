"""Renderer backends: the dataset's ``backend`` names the module that turns a ``LensSystem`` into
noiseless images. Each is imported only when a dataset asks for it (PyAutoLens lives in its own
environment, see ``autolens_renderer``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from deeplense.physics.components import LensSystem

RenderParts = Callable[..., tuple[np.ndarray, np.ndarray]]

# backend -> (renderer module, the package whose version the images depend on)
BACKENDS = {
    "lenstronomy": ("deeplense.simulation.lenstronomy_renderer", "lenstronomy"),
    "autolens": ("deeplense.simulation.autolens_renderer", "autolens"),
}


class BackendUnavailable(RuntimeError):
    """The dataset's backend cannot be imported in this environment."""


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
            "build its environment with `make autolens-env` and run `.venv-autolens/bin/deeplense`"
        ) from e
    return module.render_parts


def backend_provenance(backend: str) -> dict[str, str]:
    """``{"backend": name, <package>: version}``: recorded with every shard and store."""
    package = BACKENDS[backend][1]
    try:
        return {"backend": backend, package: version(package)}
    except PackageNotFoundError:
        return {"backend": backend, package: "not installed"}
