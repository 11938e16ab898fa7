"""Population inference, evaluated: for each population (a dataset store whose lenses share one
value of a global parameter), the posterior model's per-lens log densities on a grid over the
prior, stacked over the first N lenses for each N (deeplense.inference.stacking), and over all
populations: whether the stacked 68% and 95% central intervals hold the truth at the nominal rate
(within the binomial error of that many populations), how far the stacked mean lies from the truth
and how the width falls with N. Miscalibration compounds when lenses are stacked (Filipp et al.
2024): a per-lens posterior a little too narrow makes a stacked one that misses; this shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deeplense.inference import stacking

INTERVALS = (0.68, 0.95)
BATCH = 64


@dataclass(frozen=True)
class PopulationResult:
    """One population: its true value and, per lens count, the stacked log posterior on the grid."""

    truth: float
    log_posteriors: dict[int, np.ndarray]


def prior_grid(prior: dict[str, Any], points: int) -> np.ndarray:
    """Grid over the prior's support (a normal's: mean ± 8σ), ends excluded by half a step."""
    from deeplense.inference.priors import frozen

    dist = frozen(prior)
    lo, hi = dist.support()
    if not np.isfinite(lo) or not np.isfinite(hi):
        lo, hi = dist.ppf(1e-15), dist.isf(1e-15)
    step = (hi - lo) / points
    return np.linspace(lo + step / 2, hi - step / 2, points)


@dataclass(frozen=True)
class PosteriorModel:
    """A posterior checkpoint's network, task and the normalisation its images get."""

    network: Any
    task: Any
    mean: np.ndarray
    std: np.ndarray
    sha256: str
    name: str

    @classmethod
    def load(cls, checkpoint: str | Path) -> "PosteriorModel":
        import hashlib

        from deeplense.tasks import task_from_state
        from deeplense.training.checkpoints import load_checkpoint

        network, info = load_checkpoint(checkpoint)
        norm = info.normalisation
        return cls(network, task_from_state(info.task_state), np.asarray(norm["mean"], dtype=np.float32)[:, None, None],
                   np.asarray(norm["std"], dtype=np.float32)[:, None, None],
                   hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest(), Path(checkpoint).parent.name)


def lens_log_densities(model: PosteriorModel, images: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(lenses, grid) per-lens log posterior densities, images normalised as in training."""
    import torch

    parts = []
    with torch.no_grad():
        x = (np.asarray(images, dtype=np.float32) - model.mean) / model.std
        for start in range(0, len(x), BATCH):
            batch = torch.from_numpy(np.ascontiguousarray(x[start:start + BATCH]))
            parts.append(model.task.log_density(model.network, batch, grid[:, None]))
    return np.concatenate(parts)


def stacked_population(model: PosteriorModel, store: str | Path, parameter: str, grid: np.ndarray, log_prior: np.ndarray, lenses: list[int]) -> PopulationResult:
    """The stacked posterior of one population store for each lens count (its first N lenses,
    in store order); the truth is read from the store's records, which must agree on it."""
    from deeplense.storage.dataset_store import open_dataset

    ds = open_dataset(store)
    values = ds[parameter].values.astype(np.float64)
    if values.size < lenses[-1]:
        raise ValueError(f"{store}: {values.size} lenses, the population needs {lenses[-1]}")
    if not np.allclose(values, values[0], rtol=1e-12, atol=0):
        raise ValueError(f"{store}: {parameter} varies between lenses ({values.min():g} to {values.max():g}); a population shares one value")
    images = ds["image"].isel(sample=slice(0, lenses[-1])).values
    log_lens = lens_log_densities(model, images, grid)
    finite_prior = np.where(np.isfinite(log_prior), log_prior, -np.inf)
    return PopulationResult(float(values[0]), {n: stacking.stack(grid, log_lens[:n], finite_prior) for n in lenses})


def population_metrics(grid: np.ndarray, results: list[PopulationResult], lenses: list[int]) -> dict[str, Any]:
    """Over populations, per lens count: coverage of the stacked central intervals with the
    binomial interval a calibrated posterior gives that many populations, mean width (std),
    mean |stacked mean − truth| and the KS p-value of the truths' PIT values."""
    from scipy.stats import binom, kstest

    k = len(results)
    per_n: dict[str, Any] = {}
    for n in lenses:
        pits = np.array([stacking.pit(grid, r.log_posteriors[n], r.truth) for r in results])
        summaries = [stacking.summary(grid, r.log_posteriors[n]) for r in results]
        entry: dict[str, Any] = {
            "mean_std": float(np.mean([s["std"] for s in summaries])),
            "mean_abs_error": float(np.mean([abs(s["mean"] - r.truth) for s, r in zip(summaries, results)])),
            "pit_ks_p": float(kstest(pits, "uniform").pvalue),
        }
        for level in INTERVALS:
            hits = int(np.sum(np.abs(pits - 0.5) <= level / 2))
            lo, hi = binom.interval(0.95, k, level)
            entry[f"coverage_{round(level * 100)}"] = hits / k
            entry[f"coverage_{round(level * 100)}_expected_range"] = [lo / k, hi / k]
            entry[f"coverage_{round(level * 100)}_nominal"] = bool(lo <= hits <= hi)
        per_n[str(n)] = entry
    return {
        "populations": k,
        "lenses": lenses,
        "truths": [r.truth for r in results],
        "by_lenses": per_n,
        "nominal_everywhere": all(e[f"coverage_{round(lv * 100)}_nominal"] for e in per_n.values() for lv in INTERVALS),
    }


def evaluate_populations(checkpoint: str | Path, stores: list[str | Path], parameter: str, lenses: list[int], grid_points: int,
                         metrics_out: str | Path, figures_out: str | Path, title: str) -> dict[str, Any]:
    """Stack a posterior model's per-lens posteriors over each population store; write the
    metrics (JSON) and the figures (stacked posteriors against N; coverage and width against N)."""
    import json

    from deeplense.atomic import atomic_path
    from deeplense.inference.priors import frozen
    from deeplense.plots.inference import plot_population_coverage, plot_stacked_posteriors
    import torch

    torch.set_num_threads(1)  # as predictions run: the same numbers whatever cores the job has
    model = PosteriorModel.load(checkpoint)
    task = model.task
    if task.name != "posterior" or task.target_names != [parameter]:
        raise ValueError(f"{checkpoint}: a {task.name} model of {task.target_names}; a population needs a posterior model of [{parameter}]")
    prior = task.priors[0]
    grid = prior_grid(prior, grid_points)
    log_prior = frozen(prior).logpdf(grid)
    results = [stacked_population(model, store, parameter, grid, log_prior, lenses) for store in stores]
    metrics = population_metrics(grid, results, lenses) | {"parameter": parameter, "prior": prior, "model": model.name,
                                                           "checkpoint_sha256": model.sha256}
    from deeplense.storage.dataset_store import open_dataset

    unit = str(open_dataset(stores[0])[parameter].attrs.get("units", ""))
    with atomic_path(figures_out) as figures:
        figures.mkdir(parents=True)
        plot_stacked_posteriors(grid, results, parameter, unit, figures / "stacked_posteriors.png", title)
        plot_population_coverage(metrics, parameter, figures / "population_coverage.png", title)
    with atomic_path(metrics_out) as tmp:
        tmp.write_text(json.dumps(metrics, indent=1))
    return metrics
