"""The posterior task on a conjugate toy where the answer is known: θ ~ N(0, 1), an "image" of 16
pixels each θ + N(0, 1) noise, so the posterior is N(Σx / 17, 1/17) and a population of N lenses
sharing θ has posterior N(Σx / (1 + 16N), 1 / (1 + 16N)). The estimator (sbi's masked autoregressive
flow on a small embedding, trained by the task's own loss) must match these, be calibrated at every
level, and an overconfident one must be flagged."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
import yaml
from scipy.stats import norm

from deeplense.inference import stacking
from deeplense.inference.calibration import LEVELS, calibration, pit_from_gaussian, ranks_from_draws, tarp
from deeplense.inference.priors import PriorError, frozen, target_prior
from deeplense.tasks import Posterior

PIXELS, NOISE = 16, 1.0
PRIOR = {"dist": "normal", "mean": 0.0, "sigma": 1.0}
SETTINGS = {"estimator": "maf", "embedding_features": 8, "hidden_features": 32, "num_transforms": 2, "num_components": 10, "draws": 400}


def simulate(theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 1, 4, 4) images: each pixel θ + N(0, NOISE²)."""
    return (theta[:, None] + NOISE * rng.standard_normal((theta.size, PIXELS))).reshape(-1, 1, 4, 4).astype(np.float32)


def analytic(images: np.ndarray) -> tuple[np.ndarray, float]:
    """Posterior mean of each image and the posterior std (the same for all)."""
    precision = 1.0 + PIXELS / NOISE**2
    return images.reshape(len(images), -1).sum(axis=1) / NOISE**2 / precision, precision**-0.5


@pytest.fixture(scope="module")
def trained():
    """The task and its network, trained on fresh simulations (about 10 s on 2 cores)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    task = Posterior(["toy"], target_names=["theta"], settings=SETTINGS, priors=[PRIOR], mean=[0.0], std=[1.0])
    embedding = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(PIXELS, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
    network = task.network(embedding)
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, 1200)
    for _ in range(1200):
        theta = rng.standard_normal(256)
        loss = task.loss(network, torch.from_numpy(simulate(theta, rng)), torch.from_numpy(theta[:, None].astype(np.float32)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return task, network.eval()


@pytest.fixture(scope="module")
def test_set(trained):
    """2,000 test images with their truths and the estimator's draws."""
    task, network = trained
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(2000)
    images = simulate(theta, rng)
    with torch.no_grad():
        draws = np.concatenate([task.draws(network, torch.from_numpy(images[i:i + 500]))[0] for i in range(0, 2000, 500)])
    return images, theta[:, None], draws


def test_posterior_matches_the_analytic_one(test_set):
    images, truth, draws = test_set
    mean, std = analytic(images)
    assert np.abs(draws[:, :, 0].mean(axis=1) - mean).mean() < 0.15 * std
    assert draws[:, :, 0].std(axis=1).mean() == pytest.approx(std, rel=0.08)


def test_coverage_sbc_and_tarp_pass_on_a_calibrated_posterior(test_set):
    _, truth, draws = test_set
    ranks = ranks_from_draws(draws, truth)
    cal = calibration(ranks / draws.shape[1], ["theta"], ranks=ranks, n_draws=draws.shape[1])
    assert cal["coverage_max_error"] <= 0.03
    assert cal["targets"]["theta"]["within_binomial_noise"]
    assert cal["sbc_ks_p_min"] > 0.01
    assert abs(tarp(draws, truth, seed=0)["atc"]) < 0.05


def test_an_overconfident_posterior_is_flagged(test_set):
    """The same draws pulled halfway to their mean: intervals half as wide."""
    _, truth, draws = test_set
    centre = draws.mean(axis=1, keepdims=True)
    narrow = centre + 0.5 * (draws - centre)
    ranks = ranks_from_draws(narrow, truth)
    cal = calibration(ranks / narrow.shape[1], ["theta"], ranks=ranks, n_draws=narrow.shape[1])
    assert cal["coverage_max_error"] > 0.15
    assert not cal["targets"]["theta"]["within_binomial_noise"]
    assert cal["sbc_ks_p_min"] < 1e-6
    assert tarp(narrow, truth, seed=0)["atc"] < -0.05
    # a Gaussian regressor whose σ is half the true posterior's: the same protocol flags it
    images, _, _ = test_set
    mean, std = analytic(images)
    gauss = calibration(pit_from_gaussian(mean[:, None], np.full_like(truth, std / 2), truth), ["theta"])
    assert gauss["coverage_max_error"] > 0.15 and gauss["sbc_ks_p_min"] < 1e-6
    honest = calibration(pit_from_gaussian(mean[:, None], np.full_like(truth, std), truth), ["theta"])
    assert honest["coverage_max_error"] <= 0.03


@pytest.mark.parametrize("n_lenses", [1, 10, 50])
def test_stacked_population_posterior_matches_the_analytic_one(trained, n_lenses):
    task, network = trained
    rng = np.random.default_rng(100 + n_lenses)
    theta = 0.7
    images = simulate(np.full(n_lenses, theta), rng)
    grid = np.linspace(-4, 4, 2001)
    with torch.no_grad():
        log_post = task.log_density(network, torch.from_numpy(images), grid[:, None])
    stacked = stacking.stack(grid, log_post, frozen(PRIOR).logpdf(grid))
    precision = 1.0 + PIXELS * n_lenses / NOISE**2
    mean, std = images.sum() / NOISE**2 / precision, precision**-0.5
    got = stacking.summary(grid, stacked)
    assert got["mean"] == pytest.approx(mean, abs=0.25 * std)
    assert got["std"] == pytest.approx(std, rel=0.12)


def test_stacking_on_a_grid_is_exact_for_gaussians():
    grid = np.linspace(-5, 5, 4001)
    prior = norm(0, 2).logpdf(grid)
    # per-lens posteriors of Gaussian likelihoods N(x_i; θ, 1) under the N(0, 2²) prior
    xs = np.array([0.3, -0.1, 0.8, 0.5])
    posts = np.stack([stacking.normalise(grid, norm(x, 1).logpdf(grid) + prior) for x in xs])
    got = stacking.summary(grid, stacking.stack(grid, posts, prior))
    precision = 1 / 4 + len(xs)
    assert got["mean"] == pytest.approx(xs.sum() / precision, abs=1e-6)
    assert got["std"] == pytest.approx(precision**-0.5, rel=1e-5)
    lo, hi = stacking.central_interval(grid, stacking.stack(grid, posts, prior), 0.683)
    assert (hi - lo) / 2 == pytest.approx(precision**-0.5 * norm.ppf(0.5 + 0.683 / 2), rel=1e-3)


def test_coverage_levels_hold_the_one_and_two_sigma_intervals():
    assert 0.683 in LEVELS and 0.954 in LEVELS and all(0 < level < 1 for level in LEVELS)
    pit = np.random.default_rng(0).uniform(size=(100_000, 1))
    cal = calibration(pit, ["u"])
    assert cal["coverage_max_error"] < 0.01 and cal["targets"]["u"]["within_binomial_noise"]


def test_priors_are_read_from_the_dataset_config():
    dataset = {
        "lens": {"theta_E": None, "e1": 0.1, "gamma1": {"dist": "uniform", "low": -0.05, "high": 0.05}},
        "source": {"center_x": {"dist": "uniform", "low": -0.3, "high": 0.3}},
        "classes": [
            {"name": "wdm", "scenario": "wdm", "params": {"log_mc": {"dist": "uniform", "low": 7.0, "high": 10.0}}},
            {"name": "vortex", "scenario": "vortex", "params": {"mass": {"dist": "log_uniform", "low": 1e10, "high": 1e11}}},
            {"name": "axion", "scenario": "axion", "params": {"mass": 3e10, "log10_m_axion": {"dist": "choice", "values": [-23, -22]}}},
        ],
    }
    assert target_prior(dataset, ["wdm"], "log_mc") == {"dist": "uniform", "low": 7.0, "high": 10.0}
    assert target_prior(dataset, ["vortex"], "vortex_mass")["dist"] == "log_uniform"
    assert target_prior(dataset, ["wdm", "vortex"], "source_center_x")["high"] == 0.3
    assert target_prior(dataset, ["wdm"], "shear_gamma1")["low"] == -0.05
    for classes, field, why in [
        (["wdm"], "n_halos", "not drawn from a distribution"),
        (["wdm"], "lens_e1", "lens.e1 is fixed at 0.1"),
        (["wdm"], "lens_theta_E", "lens.theta_E is unset"),
        (["vortex", "axion"], "vortex_mass", "a posterior needs one prior"),
        (["axion"], "log10_m_axion", "continuous prior"),
    ]:
        with pytest.raises(PriorError, match=why):
            target_prior(dataset, classes, field)


INFERENCE = sorted((Path(__file__).resolve().parents[1] / "configs" / "inference").glob("*.yaml"))


@pytest.mark.parametrize("path", INFERENCE, ids=[p.stem for p in INFERENCE])
def test_inference_experiments_load_with_a_posterior_model_and_a_population(path):
    from deeplense.experiment import load_config

    cfg = load_config(path, build_models=False)
    assert any(m.task == "posterior" for m in cfg.models.values()) and cfg.populations


@pytest.mark.parametrize("name", ["axion", "axion_hst", "wdm"])
def test_cluster_size_differs_from_the_cpu_size_only_in_size(name):
    """The same recipe (every class setting but the image count), models (but the embedding
    network's size and the training length) and population parameter."""
    root = Path(__file__).resolve().parents[1] / "configs" / "inference"
    cpu, cluster = (yaml.safe_load((root / f).read_text()) for f in (f"{name}_cpu.yaml", f"{name}.yaml"))
    sizes = {"n_images", "epochs", "threads", "populations", "lenses", "split", "architecture"}

    def recipe(node):
        if isinstance(node, dict):
            return {k: recipe(v) for k, v in node.items() if k not in sizes}
        return [recipe(v) for v in node] if isinstance(node, list) else node

    assert recipe(cpu) == recipe(cluster)
    assert {k: (v["model"], v["parameter"]) for k, v in cpu["populations"].items()} == {
        k: (v["model"], v["parameter"]) for k, v in cluster["populations"].items()}
    assert cluster["datasets"][name]["classes"][0]["n_images"] > 5 * cpu["datasets"][name]["classes"][0]["n_images"]


@pytest.mark.parametrize(("estimator", "flat"), [("nsf", True), ("maf", False)])
def test_one_target_spline_flow_learns_a_flat_posterior_where_maf_stays_gaussian(estimator, flat):
    """Images that say nothing, a uniform prior: the true posterior is the flat prior. sbi's
    spline flow (what the one-target inference configs use) learns it; a one-target masked
    autoregressive flow is a Gaussian and cannot (its density at the centre stays ≈ 2× that at
    0.7 of the way to the prior's edge)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    prior, half = {"dist": "uniform", "low": -1.0, "high": 1.0}, 3**0.5  # standardised: ±√3
    settings = SETTINGS | {"estimator": estimator}
    task = Posterior(["toy"], target_names=["theta"], settings=settings, priors=[prior], mean=[0.0], std=[1 / 3**0.5])
    network = task.network(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(PIXELS, 8)))
    optimiser = torch.optim.Adam(network.parameters(), lr=5e-3)
    for _ in range(300):
        theta = rng.uniform(-1.0, 1.0, 256)
        noise = rng.standard_normal((256, 1, 4, 4)).astype(np.float32)  # independent of θ
        z = theta[:, None] * half  # the trainer hands the task standardised targets
        loss = task.loss(network, torch.from_numpy(noise), torch.from_numpy(z.astype(np.float32)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        image = torch.from_numpy(rng.standard_normal((1, 1, 4, 4)).astype(np.float32))
        density = np.exp(task.log_density(network.eval(), image, np.array([[0.0], [0.7]])))[0]  # centre, towards the edge
    ratio = float(density[0] / density[1])
    assert (abs(ratio - 1) < 0.3) if flat else (ratio > 1.6), ratio


def test_draws_are_the_same_when_threads_draw_at_once():
    """`deeplense predict` draws posterior samples on several threads of one process; sbi's flows
    draw from torch's global generator, so each batch's seeded draws must not depend on what the
    other threads draw meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    from deeplense.inference.estimator import batch_seed, build_posterior_network, draws_in_support

    torch.manual_seed(0)
    settings = {"estimator": "maf", "hidden_features": 8, "num_transforms": 2, "num_components": 2}
    network = build_posterior_network(nn.Sequential(nn.Flatten(), nn.Linear(16, 4)), 1, 4, settings).eval()
    batches = [torch.randn(8, 1, 4, 4, generator=torch.Generator().manual_seed(k)) for k in range(8)]
    low, high = np.array([-5.0]), np.array([5.0])

    def draw(images):
        with torch.no_grad():
            return draws_in_support(network, images, 200, low, high, seed=batch_seed(images))[0]

    alone = [draw(b) for b in batches]
    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(draw, batches * 2))
        for k, got in enumerate(together):
            np.testing.assert_array_equal(got, alone[k % len(batches)])
