"""Posterior inference of per-image physics parameters: neural posterior estimation (NPE,
Papamakarios & Murray 2016; Greenberg et al. 2019) with sbi's conditional density estimators on an
embedding network, trained by deeplense's streaming trainer. The prior of each target is the
distribution the dataset drew it from, read from the store's config; draws outside its support
are rejected, as sbi's DirectPosterior does. Evaluation places every test image's truth in its
posterior (coverage at every credibility level, SBC ranks, TARP) and reports the posterior mean's
error and width beside the prior's."""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.tasks.base import VAL_LOSS, Column, EvalContext, Predictions, register_task
from deeplense.tasks.regression import Regression

# Draws outside the prior per evaluation stay in metrics.json as `support_leakage`.
N_EXAMPLES = 3  # test images shown with their posteriors in the report


@register_task
class Posterior(Regression):
    """A calibrated posterior over ``targets`` (record fields drawn from a configured prior) for
    each image: ``predictions`` are posterior draws (physical units) and their summaries."""

    name = "posterior"
    losses = ()  # the estimator's own objective: the negative log posterior density of the truth
    monitors = VAL_LOSS
    uses_targets = True
    headline = ("coverage_max_error", "sbc_ks_p_min", "tarp_atc", "mae", "width_over_prior")
    figures = {
        "coverage": "Expected coverage of the posterior: for every credibility level, the fraction of test images whose true "
        "value lies in the central interval of that probability of its posterior draws, per target; the diagonal is "
        "perfect calibration and the band is the 95% binomial scatter of a calibrated posterior over this many images.",
        "sbc_ranks": "Simulation-based calibration (Talts et al. 2018): the rank of each test image's true value among its "
        "posterior draws, per target, with the expected flat count and its 99% binomial band; a ∪ shape is an "
        "overconfident posterior, a ∩ shape an underconfident one, a slope a bias. The p-value is sbi's KS test of uniformity.",
        "example_posteriors": "Posteriors of a few test images: each image beside its posterior draws (marginals on the "
        "diagonal with the central 68% interval, pairs below), the true value marked.",
    }
    leaderboard = (
        Column("coverage error", "coverage_max_error", lower_is_better=True),
        Column("mae (posterior mean)", "mae", lower_is_better=True),
        Column("width / prior", "width_over_prior", lower_is_better=True),
        Column("SBC KS p (min)", "sbc_ks_p_min"),
        Column("TARP ATC", "tarp_atc"),
        Column("baseline_mae", "baseline_mae"),
    )

    def __init__(
        self,
        classes: list[str],
        model_classes: list[str] | None = None,
        *,
        target_names: list[str],
        settings: dict[str, Any],
        priors: list[dict[str, Any]] | None = None,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        **_: Any,
    ) -> None:
        super().__init__(classes, model_classes, target_names=target_names, mean=mean, std=std)
        self.settings = dict(settings)
        self.priors = None if priors is None else [dict(p) for p in priors]

    @classmethod
    def from_config(cls, cfg, classes):
        return cls(classes, cfg.classes, target_names=cfg.targets, settings=cfg.posterior_settings().model_dump())

    @classmethod
    def config_summary(cls, model) -> str:
        s = model.posterior_settings()
        return f", targets {', '.join(model.targets)}, {s.estimator} on {s.embedding_features} embedding features"

    @classmethod
    def dataset_problems(cls, model, dataset: dict[str, Any], chosen: list[str]) -> list[tuple[int, str]]:
        """(target index, why) for each target without a continuous prior in the dataset config."""
        from deeplense.inference.priors import PriorError, target_prior

        out = []
        for i, target in enumerate(model.targets):
            try:
                target_prior(dataset, chosen, target)
            except PriorError as e:
                out.append((i, str(e)))
        return out

    def state(self):
        state = super().state()
        state.pop("loss")
        return state | {"settings": self.settings, "priors": self.priors}

    # ---- samples and targets ---------------------------------------------------------------------
    def fit(self, ds, train):
        """Target statistics from the training split, and each target's prior from the store's config."""
        from deeplense.inference.priors import target_prior

        super().fit(ds, train)
        self.priors = [target_prior(ds.attrs["config"], self.model_classes, t) for t in self.target_names]

    def num_outputs(self) -> int:
        return int(self.settings["embedding_features"])

    def network(self, backbone):
        from deeplense.inference.estimator import build_posterior_network

        return build_posterior_network(backbone, len(self.target_names), self.num_outputs(), self.settings)

    def output_columns(self):
        names = list(self.target_names)
        return {"mean": names, "std": names, "q16": names, "q50": names, "q84": names, "draws": names}

    def output_draws(self) -> int:
        return int(self.settings["draws"])

    # ---- the network's outputs -------------------------------------------------------------------
    def loss(self, model, images, targets):
        return model.loss(targets, images)

    def loss_and_predictions(self, model, images, targets):
        return self.loss(model, images, targets), {}

    def val_metrics(self, preds, targets):
        return {}

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The prior supports, standardised."""
        from deeplense.inference.priors import support

        bounds = np.array([support(p) for p in self.priors])
        return (bounds[:, 0] - self.mean) / self.std, (bounds[:, 1] - self.mean) / self.std

    def draws(self, model, images, n_draws: int | None = None) -> tuple[np.ndarray, float]:
        """(b, n_draws, t) posterior draws in physical units, inside the prior, seeded by the
        batch's pixels; and the fraction the estimator put outside the prior."""
        from deeplense.inference.estimator import batch_seed, draws_in_support

        low, high = self._bounds()
        z, leaked = draws_in_support(model, images, n_draws or self.settings["draws"], low, high, seed=batch_seed(images))
        return z * self.std + self.mean, leaked

    def predictions(self, model, images):
        draws, leaked = self.draws(model, images)
        q16, q50, q84 = np.quantile(draws, [0.16, 0.5, 0.84], axis=1)
        return {"mean": draws.mean(axis=1), "std": draws.std(axis=1), "q16": q16, "q50": q50, "q84": q84,
                "draws": draws.astype(np.float32), "leakage": np.full(len(draws), leaked)}

    def log_density(self, model, images, values: np.ndarray) -> np.ndarray:
        """(b, g) log posterior density of each image at ``values`` (g, t) in physical units (per
        unit of each target), truncated to the prior (zero density outside; renormalisation
        within the support is left to the caller, who integrates on its own grid)."""
        import torch

        z = (np.asarray(values, dtype=np.float64) - self.mean) / self.std
        grid = torch.as_tensor(z, dtype=torch.float32)[:, None, :].expand(-1, images.shape[0], -1)
        logq = model.log_prob(grid, images).T.cpu().double().numpy() - np.log(self.std).sum()
        low, high = self._bounds()
        outside = ~((z >= low) & (z <= high)).all(axis=-1)
        logq[:, outside] = -np.inf
        return logq

    # ---- evaluation ------------------------------------------------------------------------------
    def metrics(self, preds: Predictions, ctx: EvalContext) -> dict[str, Any]:
        """Point metrics of the posterior mean (with the prior-mean baseline), calibration
        (coverage, SBC, TARP), width and bias against the prior."""
        from deeplense.inference.calibration import calibration, ranks_from_draws, tarp
        from deeplense.inference.priors import frozen
        from deeplense.metrics.regression import regression_metrics

        names, truth, out = self.target_names, preds.truth, preds.outputs
        draws = out["draws"].astype(np.float64)
        prior_means = np.array([frozen(p).mean() for p in self.priors])
        prior_stds = np.array([frozen(p).std() for p in self.priors])
        metrics = regression_metrics(truth, out["mean"], names, prior_means, n_resamples=ctx.n_resamples, seed=ctx.seed)
        ranks = ranks_from_draws(draws, truth)
        n_draws = draws.shape[1]
        cal = calibration(ranks / n_draws, names, ranks=ranks, n_draws=n_draws)
        joint = tarp(draws, truth, ctx.seed)
        for j, name in enumerate(names):
            metrics["targets"][name] |= {
                "calibration": cal["targets"][name],
                "prior": self.priors[j],
                "posterior_std_mean": float(out["std"][:, j].mean()),
                "width_over_prior": float(out["std"][:, j].mean() / prior_stds[j]),
            }
        return metrics | {
            "coverage_max_error": cal["coverage_max_error"],
            "sbc_ks_p_min": cal["sbc_ks_p_min"],
            "tarp_atc": joint["atc"],
            "tarp_ks_p": joint["ks_p"],
            "tarp": joint,
            "width_over_prior": float(np.mean([metrics["targets"][n]["width_over_prior"] for n in names])),
            "support_leakage": float(out["leakage"].mean()),
            "n_draws": int(n_draws),
            "binomial_halfwidth_95": cal["binomial_halfwidth_95"],
            "target_units": {n: ctx.units.get(n, "") for n in names},
        }

    def example_predictions(self, n: int = 24) -> Predictions:
        """Draws of a unit normal around each truth, under uniform priors for a task built from
        a config (never fitted)."""
        t, draws_per_image = len(self.target_names), 20
        if self.priors is None:
            self.priors = [{"dist": "uniform", "low": -5.0, "high": 5.0}] * t
        rng = np.random.default_rng(0)
        truth = rng.uniform(-1, 1, (n, t))
        draws = truth[:, None, :] + rng.normal(size=(n, draws_per_image, t))
        q16, q50, q84 = np.quantile(draws, [0.16, 0.5, 0.84], axis=1)
        outputs = {"mean": draws.mean(axis=1), "std": draws.std(axis=1), "q16": q16, "q50": q50, "q84": q84,
                   "draws": draws, "leakage": np.zeros(n)}
        return Predictions(np.arange(n), np.zeros(n, dtype=np.int64), truth, outputs)

    def evaluate(self, preds: Predictions, ctx: EvalContext) -> tuple[dict[str, Any], Any]:
        """The metrics (``metrics``) and the task's figures."""
        import pandas as pd

        from deeplense.inference.calibration import ranks_from_draws
        from deeplense.plots.inference import plot_coverage, plot_example_posteriors, plot_rank_histograms

        names, truth, out = self.target_names, preds.truth, preds.outputs
        draws = out["draws"].astype(np.float64)
        metrics = self.metrics(preds, ctx)
        ranks = ranks_from_draws(draws, truth)
        n_draws = draws.shape[1]
        cal = {"targets": {n: metrics["targets"][n]["calibration"] for n in names}}
        levels = np.asarray(cal["targets"][names[0]]["levels"])
        plot_coverage(levels, {n: np.asarray(cal["targets"][n]["coverage"]) for n in names}, len(truth), ctx.figures / "coverage.png", ctx.title)
        plot_rank_histograms(ranks, n_draws, names, {n: cal["targets"][n]["sbc_ks_p"] for n in names}, ctx.figures / "sbc_ranks.png", ctx.title)
        examples = np.linspace(0, len(truth) - 1, min(N_EXAMPLES, len(truth))).astype(int)
        plot_example_posteriors(ctx.images(preds.samples[examples]), draws[examples], truth[examples], names, ctx.units,
                                ctx.figures / "example_posteriors.png", ctx.title)
        columns: dict[str, Any] = {"sample": preds.samples, "class": np.asarray(self.classes)[preds.labels]}
        for j, n in enumerate(names):
            columns |= {f"true_{n}": truth[:, j], f"mean_{n}": out["mean"][:, j], f"std_{n}": out["std"][:, j],
                        f"q16_{n}": out["q16"][:, j], f"q50_{n}": out["q50"][:, j], f"q84_{n}": out["q84"][:, j],
                        f"rank_{n}": ranks[:, j]}
        return metrics, pd.DataFrame(columns)
