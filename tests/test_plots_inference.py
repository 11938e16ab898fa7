"""Posterior-inference figures: each writes a readable PNG, and the coverage band is a binomial band."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread
from matplotlib.patches import Rectangle
from scipy.stats import binom

from deeplense.plots.inference import binomial_band, plot_coverage, plot_example_posteriors, plot_rank_histograms
from tests.figures import assert_drawn, axis_labels, legend_entries, saved_figures  # noqa: F401 (a fixture)

NAMES = ["log_mc", "beta"]
UNITS = {"log_mc": "log10 M_sun", "beta": "1"}


def _png(path, min_height: int = 200, min_width: int = 200) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 0
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels.shape[0] >= min_height and pixels.shape[1] >= min_width, pixels.shape
    assert_drawn(path)
    return pixels


def test_binomial_band_is_the_central_interval_of_the_binomial():
    levels = np.array([0.1, 0.5, 0.9])
    lo, hi = binomial_band(levels, 200, 0.95)
    expected_lo, expected_hi = binom.interval(0.95, 200, levels)
    np.testing.assert_allclose(lo, expected_lo / 200)
    np.testing.assert_allclose(hi, expected_hi / 200)
    lo99, hi99 = binomial_band(levels, 200, 0.99)
    assert np.all(lo99 <= lo) and np.all(hi99 >= hi) and np.all(lo < levels) and np.all(levels < hi)
    lo, hi = binomial_band(np.array([0.5]), 10_000)
    assert 0.5 - 0.011 <= lo[0] < 0.5 < hi[0] <= 0.5 + 0.011


def test_plot_coverage(tmp_path, saved_figures):
    rng = np.random.default_rng(0)
    levels = np.linspace(0.05, 0.95, 10)
    n = 2000
    observed = {"log_mc": np.clip(levels + rng.normal(0, 0.02, levels.size), 0, 1), "beta": levels ** 1.1}
    out = tmp_path / "coverage.png"
    plot_coverage(levels, observed, n, out, "expected coverage")
    _png(out)
    fig = saved_figures["coverage.png"]
    entries = legend_entries(fig)
    err = np.abs(observed["log_mc"] - levels).max()
    assert f"log_mc (max |error| {err:.3f})" in entries
    assert "95% binomial band, n = 2000" in entries
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 1) and ax.get_xlabel() == "nominal credibility level"


def test_plot_coverage_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        plot_coverage(np.linspace(0.1, 0.9, 5), {"log_mc": np.zeros(4)}, 100, tmp_path / "c.png", "t")


def test_plot_rank_histograms(tmp_path, saved_figures):
    rng = np.random.default_rng(1)
    n_draws = 99
    ranks = rng.integers(0, n_draws + 1, size=(500, 2))
    out = tmp_path / "ranks.png"
    plot_rank_histograms(ranks, n_draws, NAMES, {"log_mc": 0.43, "beta": 0.012}, out, "SBC ranks")
    _png(out)
    fig = saved_figures["ranks.png"]
    assert [ax.get_title() for ax in fig.axes] == ["log_mc: KS p = 0.43", "beta: KS p = 0.012"]
    assert axis_labels(fig)[0][0] == "rank of the truth among 99 posterior draws"
    # all ranks are counted: the bins cover 0..n_draws
    bars = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(bars) == 20 and sum(p.get_height() for p in bars) == 500


def test_plot_rank_histograms_rejects_ranks_out_of_range(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        plot_rank_histograms(np.array([[0], [11]]), 10, ["log_mc"], {"log_mc": 0.5}, tmp_path / "r.png", "t")


@pytest.mark.parametrize("t", [1, 2])
def test_plot_example_posteriors(tmp_path, saved_figures, t):
    rng = np.random.default_rng(2 + t)
    k, s = 3, 200
    images = rng.random((k, 1, 8, 8))
    truth = rng.normal(size=(k, t))
    samples = truth[:, None, :] + rng.normal(0, 0.5, size=(k, s, t))
    out = tmp_path / f"posteriors_{t}.png"
    plot_example_posteriors(images, samples, truth, NAMES[:t], UNITS, out, "example posteriors")
    pixels = _png(out, min_height=300)
    assert pixels.shape[0] > pixels.shape[1] * 0.8  # k rows stacked
    fig = saved_figures[f"posteriors_{t}.png"]
    visible = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert len(visible) == k * (1 + t * (t + 1) // 2)  # image + lower triangle of the corner, per example
    labels = {label for pair in axis_labels(fig) for label in pair}
    assert "log_mc [log10 M_sun]" in labels and (t == 1 or "beta" in labels)
    assert {"posterior samples", "truth", "central 68% interval"} <= set(legend_entries(fig))
