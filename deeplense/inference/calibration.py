"""One calibration protocol for every model that states an uncertainty, on the fixed test split:
each test image's truth is placed in its predicted distribution (the probability integral
transform, PIT: the fraction of posterior draws below the truth, or Φ((truth − μ)/σ) for a
Gaussian), and from the PIT values follow the expected coverage of the central interval at every
credibility level, simulation-based calibration (SBC rank uniformity, Talts et al. 2018, with
sbi's Kolmogorov–Smirnov test) and, for posterior draws, TARP (Lemos et al. 2023, sbi's
implementation). A posterior network and a ``gaussian_nll`` regressor on the same targets get the
same numbers, so a user sees which is calibrated."""

from __future__ import annotations

from typing import Any

import numpy as np

# Nominal credibility levels of the coverage curve: every 5%, and the 1σ / 2σ / 99% intervals.
LEVELS = tuple(sorted({*np.round(np.arange(0.05, 1.0, 0.05), 2).tolist(), 0.683, 0.954, 0.99}))


def ranks_from_draws(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n, t) ranks: how many of each image's draws (n, S, t) lie below its truth (n, t), in [0, S]."""
    return (draws < truth[:, None, :]).sum(axis=1)


def pit_from_gaussian(mean: np.ndarray, sigma: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n, t) PIT values of a Gaussian prediction: Φ((truth − μ) / σ)."""
    from scipy.stats import norm

    return norm.cdf((truth - mean) / sigma)


def central_coverage(pit: np.ndarray, levels: tuple[float, ...] = LEVELS) -> np.ndarray:
    """(levels, t): the fraction of images whose truth lies in the central interval of each
    credibility level, i.e. |PIT − ½| ≤ level / 2."""
    return np.stack([(np.abs(pit - 0.5) <= level / 2).mean(axis=0) for level in levels])


def binomial_halfwidth(levels: tuple[float, ...], n: int, probability: float = 0.95) -> np.ndarray:
    """Half-width of the central ``probability`` interval of Binomial(n, level) / n around each
    nominal level: the scatter of coverage a calibrated model shows over ``n`` images (the band
    the coverage figure draws, deeplense.plots.inference.binomial_band)."""
    from scipy.stats import binom

    levels_arr = np.asarray(levels, dtype=float)
    lo, hi = binom.interval(probability, n, levels_arr)
    return np.maximum(levels_arr - lo / n, hi / n - levels_arr)


def calibration(pit: np.ndarray, names: list[str], *, ranks: np.ndarray | None = None, n_draws: int | None = None,
                levels: tuple[float, ...] = LEVELS) -> dict[str, Any]:
    """Coverage at every level, its largest deviation from nominal and that deviation against the
    binomial noise, and the KS p-value of SBC uniformity, per target and over targets. ``ranks``
    with ``n_draws`` (posterior draws) are tested with sbi's ``check_uniformity_frequentist``;
    without them the continuous PIT values are tested against U(0, 1)."""
    from scipy.stats import kstest

    n = pit.shape[0]
    observed = central_coverage(pit, levels)
    noise = binomial_halfwidth(levels, n)
    if ranks is not None:
        import torch
        from sbi.diagnostics.sbc import check_uniformity_frequentist

        ks = check_uniformity_frequentist(torch.as_tensor(ranks, dtype=torch.float32), n_draws).double().numpy()
    else:
        ks = np.array([kstest(pit[:, j], "uniform").pvalue for j in range(pit.shape[1])])
    per_target = {}
    for j, name in enumerate(names):
        error = observed[:, j] - np.asarray(levels)
        worst = int(np.argmax(np.abs(error)))
        per_target[name] = {
            "levels": list(levels),
            "coverage": observed[:, j].tolist(),
            "coverage_max_error": float(np.abs(error).max()),
            "coverage_worst_level": float(levels[worst]),
            "coverage_1sigma": float(observed[levels.index(0.683), j]),
            "coverage_2sigma": float(observed[levels.index(0.954), j]),
            "within_binomial_noise": bool((np.abs(error) <= noise).all()),
            "sbc_ks_p": float(ks[j]),
        }
    return {
        "n_test": int(n),
        "binomial_halfwidth_95": noise.tolist(),
        "coverage_max_error": max(t["coverage_max_error"] for t in per_target.values()),
        "sbc_ks_p_min": min(t["sbc_ks_p"] for t in per_target.values()),
        "targets": per_target,
    }


def tarp(draws: np.ndarray, truth: np.ndarray, seed: int) -> dict[str, Any]:
    """TARP expected coverage of the joint posterior draws (n, S, t) with sbi (reference points
    uniform over the truths' range, parameters scaled to it); ``atc`` (area between the curve and
    the diagonal above ½: > 0 too wide, < 0 too narrow) and the KS p-value of curve against diagonal."""
    import torch
    from sbi.diagnostics.tarp import _run_tarp, check_tarp, get_tarp_references

    # sbi's run_tarp draws from an sbi posterior object; the draws here come from our own loader
    # and batches, so its sample-based core is called on them directly.
    thetas = torch.as_tensor(truth, dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        references = get_tarp_references(thetas)
    samples = torch.as_tensor(np.ascontiguousarray(np.moveaxis(draws, 1, 0)), dtype=torch.float64)
    bins = max(len(truth) // 10, 2)  # sbi's default, kept at two bins or more for a tiny test split
    ecp, alpha = _run_tarp(samples, thetas, references, num_bins=bins, z_score_theta=True)
    atc, ks_p = check_tarp(ecp, alpha)
    return {"atc": float(atc), "ks_p": float(ks_p), "ecp": ecp.tolist(), "alpha": alpha.tolist()}
