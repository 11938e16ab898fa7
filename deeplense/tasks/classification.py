"""Classification: which dark-matter class an image belongs to."""

from __future__ import annotations

from typing import Any

import numpy as np

from deeplense.tasks.base import VAL_LOSS, Column, EvalContext, Monitor, Predictions, Task, register_task
from deeplense.validation import Problem


@register_task
class Classification(Task):
    """Which dark-matter class an image belongs to; outputs are logits over ``model_classes``
    (a subset of the store's classes, in the store's order)."""

    name = "classification"
    losses = ("cross_entropy",)
    monitors = {
        **VAL_LOSS,
        "val_accuracy": Monitor("validation accuracy", maximise=True, fraction=True),
        "val_auc": Monitor("validation macro AUC", maximise=True, fraction=True),
    }
    headline = ("accuracy", "auc_macro")
    figures = {
        "roc": "One-vs-rest ROC curves per class, with the area under each curve (AUC); the dashed line is a random classifier.",
        "confusion": "Confusion matrix: counts of test images (left) and fractions of each true class (right); rows are true "
        "classes, columns predicted classes (argmax of the predicted probabilities).",
    }
    leaderboard = (Column("auc_macro", "auc_macro"), Column("auc_micro", "auc_micro"), Column("accuracy", "accuracy"))

    @classmethod
    def class_problems(cls, model, known, chosen):
        if len(chosen) < 2:
            return [Problem(("classes",), "classification needs at least 2 classes to tell apart", chosen)]
        return []

    def num_outputs(self) -> int:
        return len(self.model_classes)

    def output_columns(self):
        return {"probs": list(self.model_classes)}

    def targets(self, ds):
        """Index in ``model_classes``; -1 for samples of other classes (never trained on)."""
        lookup = np.array([self.model_classes.index(c) if c in self.model_classes else -1 for c in self.classes])
        return lookup[self.labels(ds)]

    def loss_from_outputs(self, outputs, targets):
        import torch.nn.functional as F

        return F.cross_entropy(outputs.float(), targets)

    def predictions_from_outputs(self, outputs):
        return {"probs": outputs.detach().float().softmax(dim=1).cpu().numpy()}

    def val_metrics(self, preds, targets):
        from sklearn.metrics import roc_auc_score

        probs = preds["probs"]
        out = {"val_accuracy": float((probs.argmax(axis=1) == targets).mean())}
        present = np.unique(targets)
        if present.size == len(self.model_classes) > 1 and np.isfinite(probs).all():  # a diverged model has no AUC
            out["val_auc"] = float(
                roc_auc_score(targets, probs[:, 1] if probs.shape[1] == 2 else probs, multi_class="ovr", average="macro")
            )
        return out

    def metrics(self, preds: Predictions, ctx: EvalContext) -> dict[str, Any]:
        from deeplense.metrics.classification import classification_metrics

        return classification_metrics(preds.truth, preds.outputs["probs"], self.model_classes, n_resamples=ctx.n_resamples, seed=ctx.seed)

    def example_predictions(self, n: int = 24) -> Predictions:
        rng = np.random.default_rng(0)
        labels = np.arange(n) % len(self.model_classes)
        probs = rng.dirichlet(np.ones(len(self.model_classes)), n)
        return Predictions(np.arange(n), labels, labels, {"probs": probs})

    def evaluate(self, preds: Predictions, ctx: EvalContext) -> tuple[dict[str, Any], Any]:
        import pandas as pd

        from deeplense.metrics.classification import roc_curves
        from deeplense.plots.classification import plot_confusion, plot_roc

        labels, probs, classes = preds.truth, preds.outputs["probs"], self.model_classes
        metrics = self.metrics(preds, ctx)
        plot_roc(roc_curves(labels, probs, classes), metrics["auc_per_class"], ctx.figures / "roc.png", ctx.title)
        plot_confusion(metrics["confusion_matrix"], classes, ctx.figures / "confusion.png", ctx.title)
        table = pd.DataFrame({"sample": preds.samples, "label": labels, "class": np.asarray(classes)[labels],
                              **{f"p_{c}": probs[:, i] for i, c in enumerate(classes)}})
        return metrics, table
