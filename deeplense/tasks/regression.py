"""Regression of per-image physics parameters (record fields), optionally with an uncertainty."""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.tasks.base import VAL_LOSS, Column, EvalContext, Monitor, Predictions, Task, register_task

# The variance of a gaussian_nll model, in units of the standardised target, is softplus of the
# network's output (plus a floor), as in deep ensembles (Lakshminarayanan et al. 2017). Its
# gradient never vanishes: an output that ran away early in training comes back, and the mean's
# gradient, which the Gaussian NLL divides by σ², shrinks only as 1/output. A hard clamp of the
# log-variance (deeplense ≤ 0.9.0) has no gradient past its bound, so one bad early step left a
# model at a huge σ with an arbitrary mean.
VARIANCE_FLOOR = 1e-6


def log_variance(raw):
    """log σ² from the network's raw output: log(softplus(raw) + VARIANCE_FLOOR)."""
    import torch.nn.functional as F

    return (F.softplus(raw) + VARIANCE_FLOOR).log()


@register_task
class Regression(Task):
    """Per-image physics parameters (record fields such as ``log10_m_axion``), standardised with
    the training split's mean and std (stored in the checkpoint). With ``gaussian_nll`` the model
    also predicts a log-variance per target: an uncertainty."""

    name = "regression"
    losses = ("mse", "mae", "huber", "gaussian_nll")
    monitors = {**VAL_LOSS, "val_mae": Monitor("validation MAE [target std]")}
    uses_targets = True
    headline = ("mae", "baseline_mae", "r2")
    figures = {
        "pred_vs_true": "Predicted against true value of each regression target, in the target's units, with the identity line "
        "and the constant predictor that always answers the training-split mean (the baseline); error bars are the predicted "
        "1σ where the model predicts an uncertainty.",
        "residuals": "Residual (predicted − true) against the true value of each regression target; the coloured line is the "
        "mean residual (bias).",
        "calibration": "Calibration of the predicted Gaussian uncertainties: the fraction of test images whose error lies inside "
        "the model's central interval, against the interval's probability; the diagonal is perfect calibration.",
    }
    leaderboard = (
        Column("mae", "mae", lower_is_better=True),
        Column("rmse", "rmse", lower_is_better=True),
        Column("r2", "r2"),
        Column("bias", "bias"),
        Column("baseline_mae", "baseline_mae"),
        Column("baseline_r2", "baseline_r2"),
        Column("coverage error", "coverage_max_error", lower_is_better=True),  # with a predicted σ (gaussian_nll)
    )

    def __init__(
        self,
        classes: list[str],
        model_classes: list[str] | None = None,
        *,
        target_names: list[str],
        loss: str = "mse",
        mean: list[float] | None = None,
        std: list[float] | None = None,
        variance: str = "clamp12",
        **_: Any,
    ) -> None:
        super().__init__(classes, model_classes)
        if loss not in Regression.losses:  # a subclass with its own objective (posterior) keeps "mse" unused
            raise ValueError(f"regression loss {loss!r} unknown; allowed: {', '.join(Regression.losses)}")
        self.target_names = list(target_names)
        self.loss_name = loss
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        # How the raw output becomes a variance (gaussian_nll): "softplus" (every new model, see
        # log_variance) or "clamp12", the raw output a log-variance clamped to [-12, 12], as
        # deeplense ≤ 0.9.0 trained it; their checkpoints' task state has no such entry.
        if variance not in ("softplus", "clamp12"):
            raise ValueError(f"regression variance {variance!r} unknown; allowed: softplus, clamp12")
        self.variance = variance

    @classmethod
    def from_config(cls, cfg, classes):
        return cls(classes, cfg.classes, target_names=cfg.targets, loss=cfg.loss_name, variance="softplus")

    def state(self):
        return super().state() | {
            "target_names": self.target_names,
            "loss": self.loss_name,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        } | ({"variance": self.variance} if self.predicts_uncertainty else {})

    @property
    def predicts_uncertainty(self) -> bool:
        return self.loss_name == "gaussian_nll"

    def num_outputs(self) -> int:
        return len(self.target_names) * (2 if self.predicts_uncertainty else 1)

    def output_columns(self):
        names = list(self.target_names)
        return {"y_pred": names} | ({"y_sigma": names} if self.predicts_uncertainty else {})

    def raw_targets(self, ds) -> np.ndarray:
        """(n_samples, n_targets) in physical units; NaN where a class does not record a field."""
        fields = sorted(v for v in ds.variables if ds[v].dims == ("sample",))
        missing = [t for t in self.target_names if t not in fields]
        if missing:
            raise KeyError(f"regression targets {missing} are not per-image record fields of the store; available: {', '.join(fields)}")
        return np.stack([ds[t].values.astype(np.float64) for t in self.target_names], axis=1)

    truth = raw_targets

    def train_indices(self, ds, indices):
        """Samples of ``model_classes`` whose targets are all recorded (finite)."""
        chosen = super().train_indices(ds, indices)
        finite = np.isfinite(self.raw_targets(ds)[chosen]).all(axis=1)
        return chosen[finite]

    def fit(self, ds, train):
        values = self.raw_targets(ds)[self.train_indices(ds, train)]
        if values.shape[0] == 0:
            raise ValueError(f"no training sample of classes {self.model_classes} records all of {self.target_names}")
        self.mean = values.mean(axis=0)
        std = values.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def targets(self, ds):
        """Standardised targets (float32); NaN rows are never drawn (see ``train_indices``)."""
        if self.mean is None:
            raise RuntimeError("Regression.fit must run on the training split before targets are standardised")
        return ((self.raw_targets(ds) - self.mean) / self.std).astype(np.float32)

    def _split(self, outputs):
        t = len(self.target_names)
        if self.predicts_uncertainty:
            raw = outputs[:, t:]
            return outputs[:, :t], raw.clamp(-12.0, 12.0) if self.variance == "clamp12" else log_variance(raw)
        return outputs, None

    def loss_from_outputs(self, outputs, targets):
        import torch.nn.functional as F

        mean, log_var = self._split(outputs.float())
        if self.loss_name == "mse":
            return F.mse_loss(mean, targets)
        if self.loss_name == "mae":
            return F.l1_loss(mean, targets)
        if self.loss_name == "huber":
            return F.huber_loss(mean, targets, delta=1.0)  # delta in standardised units: 1 std
        return F.gaussian_nll_loss(mean, targets, log_var.exp(), full=True)

    def predictions_from_outputs(self, outputs):
        mean, log_var = self._split(outputs.detach().float())
        out = {"y_pred": mean.cpu().numpy() * self.std + self.mean}
        if log_var is not None:
            out["y_sigma"] = np.exp(0.5 * log_var.cpu().numpy()) * self.std
        return out

    def val_metrics(self, preds, targets):
        """``val_mae``: mean absolute error averaged over targets, in units of each target's std."""
        standardised = (preds["y_pred"] - self.mean) / self.std
        return {"val_mae": float(np.abs(standardised - targets).mean())}

    def metrics(self, preds: Predictions, ctx: EvalContext) -> dict[str, Any]:
        from deeplense.metrics.regression import regression_metrics

        names = self.target_names
        truth, pred, sigma = preds.truth, preds.outputs["y_pred"], preds.outputs.get("y_sigma")
        metrics = regression_metrics(truth, pred, names, self.mean, sigma, n_resamples=ctx.n_resamples, seed=ctx.seed)
        metrics["target_units"] = {n: ctx.units.get(n, "") for n in names}
        if sigma is not None:  # the posterior task's protocol, so the two are compared like for like
            from deeplense.inference.calibration import calibration, pit_from_gaussian

            cal = calibration(pit_from_gaussian(pred, sigma, truth), names)
            for n in names:
                metrics["targets"][n]["calibration"] = cal["targets"][n]
            metrics |= {"coverage_max_error": cal["coverage_max_error"], "sbc_ks_p_min": cal["sbc_ks_p_min"]}
        return metrics

    def _example_fit(self) -> None:
        """Standardisation of unit targets, for a task built from a config (never fitted)."""
        t = len(self.target_names)
        if self.mean is None:
            self.mean, self.std = np.zeros(t), np.ones(t)

    def example_predictions(self, n: int = 24) -> Predictions:
        self._example_fit()
        rng = np.random.default_rng(0)
        shape = (n, len(self.target_names))
        outputs = {"y_pred": rng.normal(size=shape)} | ({"y_sigma": np.ones(shape)} if self.predicts_uncertainty else {})
        return Predictions(np.arange(n), np.zeros(n, dtype=np.int64), rng.normal(size=shape), outputs)

    def evaluate(self, preds: Predictions, ctx: EvalContext) -> tuple[dict[str, Any], Any]:
        """Without predicted uncertainties there is no calibration figure."""
        import pandas as pd

        from deeplense.plots.regression import plot_calibration, plot_pred_vs_true, plot_residuals

        names = self.target_names
        truth, pred, sigma = preds.truth, preds.outputs["y_pred"], preds.outputs.get("y_sigma")
        metrics = self.metrics(preds, ctx)
        plot_pred_vs_true(truth, pred, names, ctx.units, metrics, ctx.figures / "pred_vs_true.png", ctx.title, sigma)
        plot_residuals(truth, pred, names, ctx.units, ctx.figures / "residuals.png", ctx.title)
        if sigma is not None:
            plot_calibration(metrics, names, ctx.figures / "calibration.png", ctx.title)
        columns: dict[str, Any] = {"sample": preds.samples, "class": np.asarray(self.classes)[preds.labels]}
        for j, n in enumerate(names):
            columns |= {f"true_{n}": truth[:, j], f"pred_{n}": pred[:, j]}
            if sigma is not None:
                columns[f"sigma_{n}"] = sigma[:, j]
        return metrics, pd.DataFrame(columns)
