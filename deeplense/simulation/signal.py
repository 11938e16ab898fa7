"""How strong each class's dark-matter signal is: every image rendered twice, as drawn and as the
same system without its substructure, and the residual measured against the image and its noise.

"The same system without substructure" is the image's own seed drawn as the ``no_sub`` scenario:
the lens, source, lens-light, instrument and noise streams are independent of the substructure
stream (deeplense.simulation.seeds), so main lens, shear, source, lens light and exposure time are
identical, and every deflector the class's scenario adds is gone (point-mass subhalos, vortices,
pyHalo's subhalos, line-of-sight halos and their negative convergence sheets). The main lens is not
renormalised: its θ_E comes from the dataset's ``lens`` alone, whatever the class. With DeepLense's
and PyAutoLens's recipes the substructure is added on top of it, so the residual includes its extra
mass (a slightly larger Einstein ring) besides its local perturbations, as a network sees it; with
pyHalo's, the negative sheets remove the halos' mean convergence, so the residual is their
perturbation alone.

Per image, in the first band, with S the noiseless image without substructure (lens light
included) and R the noiseless image with it minus S:
- ``residual_l2`` = ‖R‖₂ / ‖S‖₂ and ``residual_peak`` = max|R| / max S;
- with noise, ``chi2`` = Σ (R/σ)², σ the noise model's per-pixel standard deviation for S
  (deeplense.physics.noise.noise_sigma at the image's drawn exposure time): the χ² by which one
  noisy image tells the two hypotheses apart; ``pixels_above_sigma`` counts pixels with |R| > σ;
  ``oracle_auc`` = Φ(√(χ²/2)) is the ROC AUC of the best test between the two noisy images when
  everything but the substructure is known (the matched filter Σ R(x − S)/σ², Gaussian noise):
  an upper bound on what any classifier can reach on this image; ``image_snr`` is the integrated
  signal-to-noise of S, the ``snr`` every store records, for scale. All NaN without noise.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm import tqdm

from deeplense.errors import DeeplenseError
from deeplense.physics.distributions import draw
from deeplense.physics.noise import integrated_snr, noise_sigma
from deeplense.physics.system import draw_system
from deeplense.simulation.image import render_bands
from deeplense.simulation.seeds import image_seed, image_streams, recipe_key

if TYPE_CHECKING:
    from deeplense.config import ClassConfig, DatasetConfig, ExperimentConfig

# Per-image quantities and their table headings.
QUANTITIES = {
    "residual_l2": "‖R‖/‖S‖",
    "residual_peak": r"max \|R\| / max S",  # pipes escaped: the headings go into a Markdown table
    "chi2": "χ² = Σ(R/σ)²",
    "pixels_above_sigma": r"pixels \|R\| > σ",
    "oracle_auc": "oracle AUC",
    "image_snr": "image S/N",
}
PERCENTILES = {"median": 50, "p16": 16, "p84": 84}


def without_substructure(cls: ClassConfig) -> ClassConfig:
    """``cls`` drawn as the smooth lens: the same seeds give the same main lens, source and light."""
    return cls.model_copy(update={"scenario": "no_sub", "params": {}})


def first_band_background(dataset: DatasetConfig) -> float:
    """The Gaussian background rms of the first band (its own, else the instrument's)."""
    inst = dataset.instrument
    band = inst.bands[0].background_rms
    return inst.background_rms if band is None else band


def oracle_auc(chi2: float) -> float:
    """Φ(√(χ²/2)): the ROC AUC of the matched filter between two known images whose difference has
    χ² ``chi2`` in Gaussian noise (its statistic is N(0, χ²) under one, N(χ², χ²) under the other)."""
    return 0.5 * (1.0 + math.erf(math.sqrt(chi2) / 2.0))


def measure_image(dataset: DatasetConfig, cls: ClassConfig, seed: int) -> dict[str, float]:
    """The residual of one image's substructure (see the module docstring) and its drawn
    substructure mass and exposure time."""
    streams = image_streams(seed)
    system, record = draw_system(dataset, cls, streams)
    smooth, _ = draw_system(dataset, without_substructure(cls), image_streams(seed))
    if system.lens[: len(smooth.lens)] != smooth.lens:
        raise RuntimeError(f"class {cls.name}: the smooth system's main lens differs from the drawn one's")
    exposure = draw(dataset.instrument.exposure_time, streams["instrument"])
    smooth_image = render_bands(smooth, dataset)[0]
    residual = render_bands(system, dataset)[0] - smooth_image
    out = {
        "residual_l2": float(np.linalg.norm(residual) / np.linalg.norm(smooth_image)),
        "residual_peak": float(np.abs(residual).max() / smooth_image.max()),
        "chi2": float("nan"),
        "pixels_above_sigma": float("nan"),
        "oracle_auc": float("nan"),
        "image_snr": float("nan"),
        "halo_mass_total": record["halo_mass_total"],
        "exposure_time": exposure,
    }
    if dataset.instrument.noise:
        background = first_band_background(dataset)
        sigma = noise_sigma(smooth_image, exposure, background)
        pulls = np.divide(residual, sigma, out=np.zeros_like(residual), where=sigma > 0)
        undetermined = np.any((sigma == 0) & (residual != 0))  # no noise where the signal changes
        out["chi2"] = float("inf") if undetermined else float((pulls**2).sum())
        out["pixels_above_sigma"] = float((np.abs(residual) > sigma).sum())
        out["oracle_auc"] = oracle_auc(out["chi2"])
        out["image_snr"] = integrated_snr(smooth_image, exposure, background)
    return out


def measure_dataset(
    cfg: ExperimentConfig, dataset_name: str, n_images: int, progress: bool = True
) -> pd.DataFrame:
    """One row per image: the first ``n_images`` of every class of ``dataset_name`` (fewer where
    the class has fewer), from the workflow's own seeds."""
    dataset = cfg.datasets[dataset_name]
    rows = []
    for cls in dataset.classes:
        indices = range(min(n_images, cls.n_images))
        recipe = recipe_key(dataset, cls)
        for index in tqdm(indices, desc=f"signal {dataset_name}/{cls.name}", disable=not progress):
            seed = image_seed(cfg.seed, recipe, index)
            rows.append({"dataset": dataset_name, "class": cls.name, "index": index, **measure_image(dataset, cls, seed)})
    return pd.DataFrame(rows)


def check_datasets(cfg: ExperimentConfig, names: list[str] | None, source: str) -> list[str]:
    """``names`` (default: every dataset of the config), each a dataset of ``cfg``."""
    allowed = list(cfg.datasets)
    for name in names or []:
        if name not in cfg.datasets:
            raise DeeplenseError(f"dataset {name!r} is not a dataset of {source}; allowed: {', '.join(allowed)}")
    return list(names or allowed)


def check_image_count(n_images: int) -> int:
    """``n_images`` if it is at least 1."""
    if n_images < 1:
        raise DeeplenseError(f"--images {n_images}: must be at least 1")
    return n_images


def summarize(per_image: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and class: the image count, the median substructure mass, and the median and
    16th/84th percentiles of every quantity."""
    rows = []
    for (dataset, cls), group in per_image.groupby(["dataset", "class"], sort=False):
        row: dict[str, object] = {"dataset": dataset, "class": cls, "images": len(group)}
        row["halo_mass_total_median"] = float(group["halo_mass_total"].median())
        for quantity in QUANTITIES:
            values = group[quantity].to_numpy(dtype=float)
            for name, q in PERCENTILES.items():
                row[f"{quantity}_{name}"] = float(np.percentile(values, q)) if np.isfinite(values).any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(median: float, low: float, high: float) -> str:
    """``median [p16, p84]`` to three significant figures; ``–`` where undefined (no noise)."""
    if np.isnan(median):
        return "–"
    return f"{median:.3g} [{low:.3g}, {high:.3g}]"


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table: each quantity as ``median [p16, p84]``."""
    table = pd.DataFrame(
        {
            "dataset": summary["dataset"],
            "class": summary["class"],
            "images": summary["images"],
            "substructure mass [M☉], median": summary["halo_mass_total_median"].map(lambda m: f"{m:.3g}"),
        }
    )
    for quantity, heading in QUANTITIES.items():
        table[heading] = [
            _interval(*values)
            for values in zip(*(summary[f"{quantity}_{name}"] for name in PERCENTILES))
        ]
    return table.to_markdown(index=False)
