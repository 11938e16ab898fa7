"""A population's posterior on a global parameter from its lenses' posteriors, on a grid: with
lenses independent given θ and each per-lens posterior p(θ | x_i) ∝ L_i(θ) π(θ) trained under the
prior π, the population posterior is p(θ | x_1..x_N) ∝ ∏ p(θ | x_i) / π(θ)^(N−1). Kept in log
space (a hundred lenses underflow any product), normalised on the grid."""

from __future__ import annotations

import numpy as np


def normalise(grid: np.ndarray, log_density: np.ndarray) -> np.ndarray:
    """``log_density`` shifted so that exp of it integrates to one over ``grid`` (trapezoid)."""
    shifted = log_density - np.max(log_density)
    return shifted - np.log(np.trapezoid(np.exp(shifted), grid))


def stack(grid: np.ndarray, log_posteriors: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """The normalised log population posterior on ``grid`` from per-lens log posteriors (N, G)
    and the log prior (G,) every lens was inferred under."""
    n = log_posteriors.shape[0]
    return normalise(grid, log_posteriors.sum(axis=0) - (n - 1) * log_prior)


def cumulative(grid: np.ndarray, log_density: np.ndarray) -> np.ndarray:
    """The cumulative distribution on ``grid`` of a normalised log density (trapezoid rule)."""
    density = np.exp(log_density)
    steps = 0.5 * (density[1:] + density[:-1]) * np.diff(grid)
    cdf = np.concatenate([[0.0], np.cumsum(steps)])
    return cdf / cdf[-1]


def central_interval(grid: np.ndarray, log_density: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` credible interval (equal tails) of a log density on ``grid``."""
    cdf = cumulative(grid, log_density)
    return float(np.interp(0.5 - level / 2, cdf, grid)), float(np.interp(0.5 + level / 2, cdf, grid))


def pit(grid: np.ndarray, log_density: np.ndarray, truth: float) -> float:
    """Where ``truth`` falls in the distribution: its cumulative probability."""
    return float(np.interp(truth, grid, cumulative(grid, log_density)))


def summary(grid: np.ndarray, log_density: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and median of a normalised log density on ``grid``."""
    density = np.exp(log_density)
    mean = float(np.trapezoid(grid * density, grid))
    std = float(np.sqrt(max(np.trapezoid((grid - mean) ** 2 * density, grid), 0.0)))
    return {"mean": mean, "std": std, "median": central_interval(grid, log_density, 0.0)[0]}
