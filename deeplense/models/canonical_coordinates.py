"""Canonical coordinates of the transform families of Equivariant Transformer layers (Tai, Bailis &
Valiant, "Equivariant Transformer Networks", ICML 2019, arXiv:1901.11399, Sec. 3 and Table 1).

For a one-parameter family of image transforms T(t), canonical coordinates (u, v) are a change of
variables in which T(t) is a translation in u by t: resampling an image on a regular (u, v) grid
turns the transform into a shift, which a translation-equivariant CNN follows. Coordinates here
are grid_sample's normalised ones (x to the right, y down, the image spanning [-1, 1]):

=============== =========================== ======================= ===============================
family          transform T(t) of (x, y)    canonical u (parameter) other coordinate v
=============== =========================== ======================= ===============================
rotation        rotation by θ               θ (periodic)            log r
scale           (eˢx, eˢy)                  log r                   θ (periodic)
rotation_scale  eˢ · rotation by θ          θ (periodic); v = log r log r (second parameter s)
shear           (x + k·y, y)                x / y                   y
hyperbolic      (eᵗx, e⁻ᵗy)                 ½·log(x / y)            ±√(xy)
perspective     (x, y) / (1 + p·x)          1 / x                   y / x
=============== =========================== ======================= ===============================

Each family gives the sampling points of its canonical grid and the 3×3 homogeneous matrix of
T(t); matrices compose by multiplication, so a sequence of layers resamples the image once.
Adding a family is one registered subclass.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from deeplense.registry import Registry

CANONICAL_COORDINATES: Registry[CanonicalCoordinates] = Registry("transform family")
LOG_R_MIN = math.log(0.05)  # the smallest radius sampled by log-polar grids (normalised units)


@dataclass(frozen=True)
class Axis:
    """Sampled values of one canonical coordinate: ``periodic`` ones on [low, high), others on [low, high]."""

    low: float
    high: float
    periodic: bool = False

    def values(self, n: int) -> np.ndarray:
        """``n`` sample values (an even ``n`` on a symmetric axis never samples 0)."""
        if self.periodic:
            return self.low + (self.high - self.low) * np.arange(n) / n
        return np.linspace(self.low, self.high, n)

    @property
    def centre(self) -> float:
        """The value a shift is measured from (0 for periodic axes: the identity)."""
        return 0.0 if self.periodic else (self.low + self.high) / 2


ANGLE = Axis(-math.pi, math.pi, periodic=True)
LOG_RADIUS = Axis(LOG_R_MIN, 0.0)


class CanonicalCoordinates(ABC):
    """A transform family: its canonical axes (u across, v down the canonical image), which of them
    carry parameters, the image points of a canonical grid, and the matrix of a transform."""

    u: Axis
    v: Axis
    parameters: tuple[str, ...] = ("u",)  # "u" first, then "v" for two-parameter families

    @abstractmethod
    def points(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates (x, y) of canonical points (u, v) (broadcast arrays)."""

    @abstractmethod
    def matrix(self, params: torch.Tensor) -> torch.Tensor:
        """Homogeneous 3×3 matrices (n, 3, 3) of the transforms with parameters ``params`` (n, k)."""

    def grid(self, width: int, height: int) -> np.ndarray:
        """Homogeneous image points (height, width, 3) of the canonical grid."""
        u, v = np.meshgrid(self.u.values(width), self.v.values(height))
        x, y = self.points(u, v)
        return np.stack([x, y, np.ones_like(x)], axis=-1)


def _matrices(rows: list[list[torch.Tensor | float]], like: torch.Tensor) -> torch.Tensor:
    """Stack a 3×3 nested list of per-sample tensors and constants into (n, 3, 3)."""
    full = [[e if isinstance(e, torch.Tensor) else torch.full_like(like, e) for e in row] for row in rows]
    return torch.stack([torch.stack(row, dim=-1) for row in full], dim=-2)


def _rotation(theta: torch.Tensor, log_scale: torch.Tensor | None = None) -> torch.Tensor:
    s = torch.exp(log_scale) if log_scale is not None else torch.ones_like(theta)
    c, n = s * torch.cos(theta), s * torch.sin(theta)
    return _matrices([[c, -n, 0.0], [n, c, 0.0], [0.0, 0.0, 1.0]], theta)


@CANONICAL_COORDINATES.register("rotation")
class Rotation(CanonicalCoordinates):
    """Rotation about the image centre: log-polar grid, angle across."""

    u, v = ANGLE, LOG_RADIUS

    def points(self, u, v):
        return np.exp(v) * np.cos(u), np.exp(v) * np.sin(u)

    def matrix(self, params):
        return _rotation(params[:, 0])


@CANONICAL_COORDINATES.register("scale")
class Scale(CanonicalCoordinates):
    """Isotropic scaling about the centre: log-polar grid, log-radius across."""

    u, v = LOG_RADIUS, ANGLE

    def points(self, u, v):
        return np.exp(u) * np.cos(v), np.exp(u) * np.sin(v)

    def matrix(self, params):
        s = torch.exp(params[:, 0])
        return _matrices([[s, 0.0, 0.0], [0.0, s, 0.0], [0.0, 0.0, 1.0]], s)


@CANONICAL_COORDINATES.register("rotation_scale")
class RotationScale(CanonicalCoordinates):
    """Rotation and scaling together: log-polar grid, angle across, log-radius down (two parameters)."""

    u, v = ANGLE, LOG_RADIUS
    parameters = ("u", "v")

    def points(self, u, v):
        return np.exp(v) * np.cos(u), np.exp(v) * np.sin(u)

    def matrix(self, params):
        return _rotation(params[:, 0], params[:, 1])


@CANONICAL_COORDINATES.register("shear")
class Shear(CanonicalCoordinates):
    """Horizontal shear x → x + k·y: u = x/y, v = y (an even number of rows never samples y = 0)."""

    u, v = Axis(-1.5, 1.5), Axis(-1.0, 1.0)

    def points(self, u, v):
        return u * v, v

    def matrix(self, params):
        k = params[:, 0]
        return _matrices([[1.0, k, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], k)


@CANONICAL_COORDINATES.register("hyperbolic")
class Hyperbolic(CanonicalCoordinates):
    """Hyperbolic rotation (squeeze) x → eᵗx, y → e⁻ᵗy: u = ½ log(x/y), v = ±√(xy) (quadrants I and III)."""

    u, v = Axis(-1.0, 1.0), Axis(-1.0, 1.0)

    def points(self, u, v):
        return v * np.exp(u), v * np.exp(-u)

    def matrix(self, params):
        t = torch.exp(params[:, 0])
        return _matrices([[t, 0.0, 0.0], [0.0, 1.0 / t, 0.0], [0.0, 0.0, 1.0]], t)


@CANONICAL_COORDINATES.register("perspective")
class Perspective(CanonicalCoordinates):
    """Horizontal perspective (x, y) → (x, y)/(1 + p·x): u = 1/x, v = y/x (the right half, x ≥ 0.25)."""

    u, v = Axis(1.0, 4.0), Axis(-1.0, 1.0)

    def points(self, u, v):
        return 1.0 / u, v / u

    def matrix(self, params):
        p = params[:, 0]
        return _matrices([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [p, 0.0, 1.0]], p)
