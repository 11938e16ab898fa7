"""Evaluate a checkpoint on the fixed test split of a dataset store (its own, or another one for
domain shift): metrics.json with provenance, per-sample predictions, and the task's figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deeplense.data.splits import dataset_splits
from deeplense.metrics.bootstrap import N_RESAMPLES
from deeplense.evaluation.predict import predict
from deeplense.tasks import EvalContext
from deeplense.atomic import atomic_path
from deeplense.storage.dataset_store import open_dataset, store_attrs
from deeplense.storage.provenance import CheckpointInfo, EvalProvenance, MetricsFile, StoreAttrs, git_commit, software_versions
from deeplense.tasks import task_from_state
from deeplense.training.trainer import load_checkpoint


@dataclass(frozen=True)
class EvalOutputs:
    """Where evaluation writes: metrics with provenance, per-sample predictions, a figure folder."""

    metrics: Path
    predictions: Path
    figures: Path

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "EvalOutputs":
        out_dir = Path(out_dir)
        return cls(out_dir / "metrics.json", out_dir / "predictions.csv", out_dir / "figures")


def provenance(name: str, info: CheckpointInfo, store: StoreAttrs, split: dict[str, float]) -> EvalProvenance:
    """Model, task, datasets and their hashes, config hash, seed, checkpoint epoch, software and
    git commit; the checkpoint names its training dataset, seed and config hash."""
    commit = git_commit()
    return EvalProvenance(
        model=name,
        task=info.task,
        architecture=info.architecture,
        train_dataset=info.dataset,
        train_dataset_hash=info.dataset_hash,
        dataset=store.dataset,
        dataset_hash=store.content_hash,
        dataset_preset=store.instrument.preset,
        config_hash=info.config_hash,
        seed=info.seed,
        checkpoint_epoch=info.epoch,
        split_fractions=split,
        software=software_versions(("torch", "timm", "scikit-learn")),
        git_commit=commit,
        git_dirty=commit.endswith("+dirty"),
    )


def evaluate_model(
    name: str,
    checkpoint: str | Path,
    store: str | Path,
    outputs: EvalOutputs,
    *,
    split: dict[str, float],
    n_resamples: int = N_RESAMPLES,
    device: str | None = None,
) -> MetricsFile:
    """Evaluate model ``name`` from ``checkpoint`` on the test split (fractions ``split``) of
    ``store``, its own dataset or another one (domain shift), and write ``outputs``.
    torch runs on the threads the model trained with, so predictions do not depend on the job, and
    on ``device`` (default: the model's ``device`` setting), in float32."""
    import torch

    from deeplense.training.device import select_device

    model, info = load_checkpoint(checkpoint)
    torch.set_num_threads(info.threads)
    dev = select_device(device or info.device).device
    ds = open_dataset(store)
    attrs = store_attrs(ds, store)
    if attrs.classes != info.classes:
        raise ValueError(f"{store} has classes {attrs.classes}, model {name} was trained on {info.classes}")
    task = task_from_state(info.task_state)
    test = task.eval_indices(ds, dataset_splits(ds, split)["test"])
    if test.size == 0:
        raise ValueError(f"dataset store {store}: no test sample of classes {task.model_classes} for model {name}")
    preds = predict(model, task, info.normalisation, store, test, device=dev)
    prov = provenance(name, info, attrs, split)
    shift = "" if prov.dataset == prov.train_dataset else f" (trained on {prov.train_dataset})"
    title = f"{name} ({info.architecture}) on {prov.dataset}{shift}, test n={test.size}"
    units = {v: str(ds[v].attrs.get("units", "")) for v in ds.variables if ds[v].dims == ("sample",)}
    with atomic_path(outputs.figures) as figures:
        figures.mkdir(parents=True)
        ctx = EvalContext(title, figures, units, n_resamples, prov.seed, images=lambda samples: ds["image"].isel(sample=samples).values)
        values, table = task.evaluate(preds, ctx)
        metrics = MetricsFile.model_validate(
            values
            | {
                "model": name,
                "architecture": prov.architecture,
                "task": task.name,
                "dataset": prov.dataset,
                "train_dataset": prov.train_dataset,
                "dataset_hash": prov.dataset_hash,
                "checkpoint_epoch": prov.checkpoint_epoch,
                "classes": task.model_classes,
                "split": "test",
                "software": prov.software,
                "provenance": prov,
            }
        )
        with atomic_path(outputs.predictions) as tmp:
            table.to_csv(tmp, index=False)
        with atomic_path(outputs.metrics) as tmp:
            tmp.write_text(metrics.to_json())
    return metrics
