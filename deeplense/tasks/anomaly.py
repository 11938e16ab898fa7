"""Anomaly detection: an autoencoder learns the normal class; its score flags the others."""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.tasks.base import Column, EvalContext, Predictions, Task, register_task
from deeplense.validation import Problem, not_one_of


@register_task
class Anomaly(Task):
    """Anomaly detection: an autoencoder learns the ``normal_class`` only (its own objective:
    reconstruction error, negative ELBO, ...); its anomaly score is evaluated on every class."""

    name = "anomaly"
    headline = ("auc",)
    figures = {
        "scores": "Distribution of the anomaly score (larger is more anomalous) per class on the test split; the filled "
        "histogram is the normal class the autoencoder was trained on.",
        "roc": "ROC curves of the anomaly score: each anomalous class against the normal class, with the area under each "
        "curve; the dashed line is chance.",
    }
    leaderboard = (Column("anomaly_auc", "auc"),)

    def __init__(self, classes: list[str], model_classes: list[str] | None = None, *, normal_class: str = "no_sub", **_: Any) -> None:
        super().__init__(classes, model_classes)
        if normal_class not in self.classes:
            raise ValueError(f"normal_class {normal_class!r} is not in the dataset; it has {self.classes}")
        self.normal_class = normal_class

    @classmethod
    def class_problems(cls, model, known, chosen):
        if model.normal_class not in known:
            return [Problem(("normal_class",), not_one_of(f"not a class of dataset {model.dataset}", model.normal_class, known), model.normal_class)]
        if not (model.normal_class in chosen and len(chosen) > 1):
            return [Problem(("classes",), f"anomaly detection is evaluated on normal_class ({model.normal_class}) against the "
                            "others: list it and at least one other class", chosen)]
        return []

    @classmethod
    def config_summary(cls, model):
        return f", normal class {model.normal_class}"

    @classmethod
    def from_config(cls, cfg, classes):
        return cls(classes, cfg.classes, normal_class=cfg.normal_class)

    def state(self):
        return super().state() | {"normal_class": self.normal_class}

    def num_outputs(self) -> int:
        return 0  # autoencoders reconstruct their input

    def output_columns(self):
        return {"score": None}

    def train_classes(self):
        return [self.normal_class]

    def eval_classes(self):
        return self.model_classes

    def eval_indices(self, ds, indices):
        return self._in_classes(ds, indices, self.eval_classes())

    def targets(self, ds):
        """1 for anomalous, 0 for normal samples (the normal class never sees a 1 in training)."""
        return (self.labels(ds) != self.classes.index(self.normal_class)).astype(np.int64)

    @staticmethod
    def _check(model) -> None:
        if not (hasattr(model, "objective") and hasattr(model, "anomaly_score")):
            raise TypeError(
                f"task anomaly needs an autoencoder (conv_ae, vae, aae: objective and anomaly_score); "
                f"{type(model).__name__} is not one"
            )

    def loss(self, model, images, targets):
        self._check(model)
        return model.objective(images)

    def predictions(self, model, images):
        self._check(model)
        return {"score": model.anomaly_score(images).detach().float().cpu().numpy()}

    def loss_and_predictions(self, model, images, targets):
        """Validation (normal images only): the loss is the mean anomaly score, what the model is judged
        by. The training objective would do for an autoencoder or a VAE, whose score is their objective,
        but an AAE's objective also holds its discriminator's loss, whose swings say nothing about how
        well normal images reconstruct; selecting the checkpoint by it picked poorly reconstructing ones."""
        self._check(model)
        scores = model.anomaly_score(images)
        return scores.mean(), {"score": scores.detach().float().cpu().numpy()}

    def probe(self, model, images):
        """An autoencoder: its own objective runs on the batch."""
        import torch

        self.loss(model, images, torch.zeros(images.shape[0], dtype=torch.long))
        return None

    def metrics(self, preds: Predictions, ctx: EvalContext) -> dict[str, Any]:
        from deeplense.metrics.anomaly import anomaly_metrics

        return anomaly_metrics(preds.outputs["score"], preds.labels, self.classes, self.normal_class, n_resamples=ctx.n_resamples, seed=ctx.seed)

    def example_predictions(self, n: int = 24) -> Predictions:
        labels = np.array([self.classes.index(c) for c in self.eval_classes()])[np.arange(n) % len(self.eval_classes())]
        truth = (labels != self.classes.index(self.normal_class)).astype(np.int64)
        return Predictions(np.arange(n), labels, truth, {"score": np.random.default_rng(0).random(n)})

    def evaluate(self, preds: Predictions, ctx: EvalContext) -> tuple[dict[str, Any], Any]:
        import pandas as pd

        from deeplense.metrics.anomaly import anomaly_roc_curves
        from deeplense.plots.anomaly import plot_score_histograms
        from deeplense.plots.classification import plot_roc

        scores, labels, classes = preds.outputs["score"], preds.labels, self.classes
        metrics = self.metrics(preds, ctx)
        plot_score_histograms(scores, labels, classes, self.normal_class, ctx.figures / "scores.png", ctx.title)
        curves = anomaly_roc_curves(scores, labels, classes, self.normal_class)
        plot_roc(curves, metrics["auc_per_class"], ctx.figures / "roc.png", f"{ctx.title}\nanomalous class vs {self.normal_class}")
        table = pd.DataFrame({"sample": preds.samples, "class": np.asarray(classes)[labels], "anomalous": preds.truth, "score": scores})
        return metrics, table
