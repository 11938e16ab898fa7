"""Bootstrap confidence intervals: resample the test set with replacement (seeded), recompute the
metrics, and take the percentile interval.

Why a short loop instead of ``scipy.stats.bootstrap``: several metrics are computed from one
resample at once (accuracy, macro, micro and per-class AUC share the resampled indices), and a
resample can make a metric undefined (a one-vs-rest AUC when a class is missing from it). SciPy
needs one vectorisable statistic and fails on undefined values; here undefined resamples are
skipped and counted (``n_valid``), so the interval says what it rests on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

N_RESAMPLES = 1000
LEVEL = 0.95


def bootstrap_ci(
    statistic: Callable[[np.ndarray], Mapping[str, float | None]],
    n: int,
    *,
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Percentile intervals of every metric ``statistic(indices)`` returns for resampled index
    arrays of a test set of ``n`` samples.

    ``statistic`` receives an index array (length ``n``, drawn with replacement) and returns a
    mapping of metric name to value, ``None`` (or NaN) where undefined on that resample. Each
    metric gets ``{"low", "high", "level", "n_resamples", "n_valid", "method"}``; ``low`` and
    ``high`` are ``None`` when no resample defined it.
    """
    if not 0 < level < 1:
        raise ValueError(f"confidence level {level} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_resamples if n > 0 else 0):
        values = statistic(rng.integers(0, n, size=n))
        for name, value in values.items():
            bucket = draws.setdefault(name, [])
            if value is not None and np.isfinite(value):
                bucket.append(float(value))
    tail = 100 * (1 - level) / 2
    out = {}
    for name, values in draws.items():
        low, high = (float(v) for v in np.percentile(values, [tail, 100 - tail])) if values else (None, None)
        out[name] = {
            "low": low,
            "high": high,
            "level": level,
            "n_resamples": n_resamples,
            "n_valid": len(values),
            "method": "percentile bootstrap over test samples",
        }
    return out
