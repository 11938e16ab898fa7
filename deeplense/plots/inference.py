"""Figures of posterior inference (normalising-flow posteriors): expected coverage, SBC rank
histograms and example posteriors, to show whether the posteriors are calibrated and what they look
like; and for populations of lenses, the stacked posterior against the number of lenses and the
coverage and width of the stacked intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator
from scipy.stats import binom

from deeplense.plots.regression import _label
from deeplense.plots.style import OKABE_ITO, STYLE, figure, plt, save


def binomial_band(levels: np.ndarray, n: int, probability: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper fractions of the central ``probability`` interval of Binomial(n, p)/n for each
    p in ``levels``: where the observed fraction of n independent trials falls when the true rate is p."""
    lo, hi = binom.interval(probability, n, np.asarray(levels, dtype=float))
    return np.asarray(lo, dtype=float) / n, np.asarray(hi, dtype=float) / n


def _percent(probability: float) -> str:
    return f"{100 * probability:.4g}%"


def plot_coverage(
    levels: np.ndarray, observed: dict[str, np.ndarray], n: int, out: str | Path, title: str, band_probability: float = 0.95,
) -> None:
    """Expected coverage: observed fraction of the n test images whose truth lies in the central
    credible interval, against the interval's nominal level, per target, with the binomial band of a calibrated posterior."""
    levels = np.asarray(levels, dtype=float)
    order = np.argsort(levels)
    lo, hi = binomial_band(levels[order], n, band_probability)
    fig, ax = figure(figsize=(6, 5.6))
    ax.fill_between(levels[order], lo, hi, color="#999999", alpha=0.35, lw=0, label=f"{_percent(band_probability)} binomial band, n = {n}")
    ax.plot([0, 1], [0, 1], ls="--", color="black", lw=1, label="perfect calibration")
    for name, obs in observed.items():
        obs = np.asarray(obs, dtype=float)
        if obs.shape != levels.shape:
            raise ValueError(f"observed[{name!r}] has shape {obs.shape}; levels have {levels.shape}")
        error = np.abs(obs - levels).max()
        ax.plot(levels[order], obs[order], marker="o", ms=4, lw=2, label=f"{name} (max |error| {error:.3f})")
    ax.set(
        xlabel="nominal credibility level", ylabel="observed coverage (fraction of test images)", xlim=(0, 1), ylim=(0, 1.01), aspect="equal", title=title,
    )
    ax.legend(fontsize=8, loc="upper left")
    save(fig, out)


def plot_rank_histograms(ranks: np.ndarray, n_draws: int, names: list[str], ks_p: dict[str, float], out: str | Path, title: str, bins: int = 20) -> None:
    """Simulation-based calibration (Talts et al. 2018): per target, the histogram of the truth's rank
    among ``n_draws`` posterior draws, which is uniform on 0..n_draws for a calibrated posterior."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 2 or ranks.shape[1] != len(names):
        raise ValueError(f"ranks has shape {ranks.shape}; expected (n, {len(names)})")
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_draws):
        raise ValueError(f"ranks lie in [{ranks.min()}, {ranks.max()}], outside [0, {n_draws}]")
    n = ranks.shape[0]
    bins = min(bins, n_draws + 1)
    # Ranks take the n_draws + 1 integer values 0..n_draws: bins of equal width over [-0.5, n_draws + 0.5]
    # hold equally many of them when bins divides n_draws + 1, and otherwise differ by one value; the
    # expectation and band are drawn per bin from that count, so they are flat at n / bins when it divides.
    edges = np.linspace(-0.5, n_draws + 0.5, bins + 1)
    p_bin = np.diff(np.ceil(edges)) / (n_draws + 1)
    lo, hi = binomial_band(p_bin, n, 0.99)
    fig, axes = figure(1, len(names), figsize=(4.8 * len(names), 4.2), squeeze=False)
    for j, (ax, name) in enumerate(zip(axes[0], names)):
        counts, _, _ = ax.hist(ranks[:, j], bins=edges, color=OKABE_ITO[0], alpha=0.6, edgecolor="white", lw=0.5, label="test images")
        # the band over the bars, translucent: bars outside it stand out
        ax.stairs(hi * n, edges, baseline=lo * n, fill=True, color="#666666", alpha=0.3, lw=0, zorder=3, label="99% binomial band")
        ax.stairs(p_bin * n, edges, baseline=None, color="black", lw=1.5, ls="--", zorder=4, label="expected if ranks are uniform")
        ax.set(xlabel=f"rank of the truth among {n_draws} posterior draws", ylabel="test images per bin", xlim=(edges[0], edges[-1]),
               ylim=(0, 1.3 * max(counts.max(), hi.max() * n)), title=f"{name}: KS p = {ks_p[name]:.2g}")  # headroom for the legend
        if j == 0:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(title)
    save(fig, out)


def _hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _show_image(ax, image: np.ndarray, example: int) -> None:
    ax.imshow(image, origin="lower", cmap="inferno")
    _hide_ticks(ax)
    ax.set_title(f"example {example + 1}", fontsize=10)


def _marginal(ax, x: np.ndarray, truth: float) -> None:
    """One marginal on the corner's diagonal: histogram, truth, central 68% interval."""
    bins = int(np.clip(np.sqrt(x.size), 10, 40))
    ax.hist(x, bins=bins, histtype="stepfilled", color=OKABE_ITO[0], alpha=0.55, edgecolor=OKABE_ITO[0])
    for q in np.percentile(x, [16, 84]):
        ax.axvline(q, color="0.25", ls="--", lw=1.2)
    ax.axvline(truth, color=OKABE_ITO[3], lw=2.2)
    ax.set_yticks([])


def _limits(x: np.ndarray, truth: float) -> tuple[float, float]:
    lo, hi = min(x.min(), truth), max(x.max(), truth)
    pad = 0.05 * (hi - lo) or 0.1 * max(abs(hi), 1e-3)
    return lo - pad, hi + pad


def _legend_handles(cross: bool) -> list:
    return [
        Patch(color=OKABE_ITO[0], alpha=0.55, label="posterior samples"),
        Line2D([], [], color=OKABE_ITO[3], lw=2.2, marker="x" if cross else None, ms=8, mew=2.2, label="truth"),
        Line2D([], [], color="0.25", ls="--", lw=1.2, label="central 68% interval"),
    ]


def plot_example_posteriors(
    images: np.ndarray, samples: np.ndarray, truth: np.ndarray, names: list[str], units: dict[str, str], out: str | Path, title: str,
) -> None:
    """One row per test image: the image (first band) beside a corner plot of its posterior samples,
    marginals on the diagonal and pairs below it, with the truth and the central 68% interval marked."""
    k, _, t = samples.shape
    if images.shape[0] != k or truth.shape != (k, t) or len(names) != t:
        raise ValueError(f"images {images.shape}, samples {samples.shape}, truth {truth.shape} and {len(names)} names disagree")
    alpha = float(min(0.5, 6 / np.sqrt(samples.shape[1])))
    if t == 1:
        fig, axes = figure(k, 2, figsize=(7, 3 * k), squeeze=False, layout="constrained", gridspec_kw={"width_ratios": [1, 1.6]})
        for r in range(k):
            _show_image(axes[r, 0], images[r, 0], r)
            _marginal(axes[r, 1], samples[r, :, 0], truth[r, 0])
            axes[r, 1].set_xlim(*_limits(samples[r, :, 0], truth[r, 0]))
            axes[r, 1].set_xlabel(_label(names[0], units))
        fig.legend(handles=_legend_handles(cross=False), loc="outside lower center", ncols=3, fontsize=9)
        fig.suptitle(title)
        save(fig, out)
        return
    # The corner plot is drawn here with matplotlib: the `corner` package is not a dependency.
    cell = 1.9
    with plt.rc_context(STYLE):  # figure() makes only flat grids; the nested layout is built under the same style
        fig = plt.figure(figsize=(cell * (t + 1.5) + 0.6, cell * t * k + 0.8), layout="constrained")
        rows = fig.subfigures(k, 1, squeeze=False)[:, 0]
        for r, row in enumerate(rows):
            image_fig, corner_fig = row.subfigures(1, 2, width_ratios=[1.5, t])
            _show_image(image_fig.subplots(), images[r, 0], r)
            axes = corner_fig.subplots(t, t, squeeze=False)
            x, y = samples[r], truth[r]
            limits = [_limits(x[:, j], y[j]) for j in range(t)]
            for i in range(t):
                for j in range(t):
                    ax = axes[i, j]
                    if j > i:
                        ax.set_visible(False)
                        continue
                    if i == j:
                        _marginal(ax, x[:, j], y[j])
                    else:
                        ax.scatter(x[:, j], x[:, i], s=3, alpha=alpha, color=OKABE_ITO[0], lw=0, rasterized=True)
                        ax.plot(y[j], y[i], marker="x", ms=9, mew=2.2, color=OKABE_ITO[3], ls="none")
                        ax.set_ylim(*limits[i])
                        if j == 0:
                            ax.set_ylabel(_label(names[i], units), fontsize=9)
                        else:
                            ax.tick_params(labelleft=False)
                    ax.set_xlim(*limits[j])
                    ax.tick_params(labelsize=8)
                    if i == t - 1:
                        ax.set_xlabel(_label(names[j], units), fontsize=9)
                        ax.tick_params(axis="x", labelrotation=30)
                    else:
                        ax.tick_params(labelbottom=False)
        fig.legend(handles=_legend_handles(cross=True), loc="outside lower center", ncols=3, fontsize=9)
        fig.suptitle(title)
    save(fig, out)


def plot_stacked_posteriors(grid: np.ndarray, results: list, parameter: str, unit: str, out: str | Path, title: str, shown: int = 3) -> None:
    """For a few populations (spread over the prior), the stacked posterior density of the shared
    parameter for each lens count, with the population's true value."""
    picks = np.unique(np.linspace(0, len(results) - 1, min(shown, len(results))).astype(int))
    fig, axes = figure(1, len(picks), figsize=(4.8 * len(picks), 4), squeeze=False)
    for ax, i in zip(axes[0], picks):
        result = results[i]
        for colour, (n, log_post) in zip(OKABE_ITO, result.log_posteriors.items()):
            ax.plot(grid, np.exp(log_post), color=colour, lw=1.8, label=f"{n} lens{'es' if n > 1 else ''}")
        ax.axvline(result.truth, color="black", ls="--", lw=1.2, label="true value")
        ax.set(xlabel=_label(parameter, {parameter: unit}), ylabel="stacked posterior density", title=f"population {i}")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save(fig, out)


def plot_population_coverage(metrics: dict, parameter: str, out: str | Path, title: str) -> None:
    """Left: the fraction of populations whose stacked 68% and 95% intervals hold the truth,
    against the number of lenses, with the binomial range of a calibrated posterior. Right: the
    mean stacked posterior width (std) against the number of lenses, with the 1/√N line."""
    lenses = np.asarray(metrics["lenses"], dtype=float)
    rows = [metrics["by_lenses"][str(int(n))] for n in lenses]
    fig, (left, right) = figure(1, 2, figsize=(11, 4.3))
    for colour, level in zip(OKABE_ITO, (68, 95)):
        observed = [r[f"coverage_{level}"] for r in rows]
        lo = [r[f"coverage_{level}_expected_range"][0] for r in rows]
        hi = [r[f"coverage_{level}_expected_range"][1] for r in rows]
        left.fill_between(lenses, lo, hi, color=colour, alpha=0.2, lw=0)
        left.axhline(level / 100, color=colour, ls="--", lw=1)
        left.plot(lenses, observed, marker="o", color=colour, label=f"{level}% interval (band: binomial 95%, {metrics['populations']} populations)")
    left.set(xscale="log", ylim=(0, 1.02), xlabel="lenses per population", ylabel="populations whose interval holds the truth")
    left.legend(fontsize=8, loc="lower left")
    widths = np.array([r["mean_std"] for r in rows])
    right.plot(lenses, widths, marker="o", color=OKABE_ITO[2], label="mean stacked posterior std")
    right.plot(lenses, widths[0] / np.sqrt(lenses / lenses[0]), ls="--", color="grey", label="∝ 1/√N")
    right.set(xscale="log", yscale="log", xlabel="lenses per population", ylabel=f"posterior std of {parameter}")
    right.legend(fontsize=8)
    for ax in (left, right):  # the lens counts themselves as ticks, not powers of ten
        ax.set_xticks(lenses, [str(int(n)) for n in lenses])
        ax.xaxis.set_minor_locator(NullLocator())
    fig.subplots_adjust(wspace=0.35)
    fig.suptitle(title)
    save(fig, out)
