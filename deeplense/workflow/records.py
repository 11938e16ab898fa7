"""What a finished run's record holds, by the workflow's output paths: every evaluation the config
asks for (each model on its own test split and on its evaluate_on datasets, each training repeat of a
model with ``seeds:`` > 1 on its test split, each population) and
each model's train_info.json (the machine it trained on). deeplense.report.records writes it."""

from __future__ import annotations

from pathlib import Path

from deeplense.config import ExperimentConfig
from deeplense.workflow import plan


def run_outputs(cfg: ExperimentConfig, results: str | Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """(record-relative name → metrics.json, model → train_info.json) of a run whose outputs are
    in ``results`` (the workflow's ``results/`` folder, wherever it now lies)."""
    root = Path(results).parent  # the plan's paths start with "results/"
    metrics: dict[str, Path] = {}
    for name, model in cfg.models.items():
        metrics[f"models/{name}/metrics.json"] = root / plan.METRICS.format(model=name)
        for other in model.evaluate_on:
            metrics[f"models/{name}/on/{other}/metrics.json"] = root / plan.CROSS_METRICS.format(model=name, dataset=other)
        for k in range(1, model.seeds):  # training repeats (seeds:)
            metrics[f"models/{name}/seeds/{k}/metrics.json"] = root / plan.REPEAT_METRICS.format(model=name, repeat=k)
    for name in cfg.populations:
        metrics[f"populations/{name}/metrics.json"] = root / plan.POPULATION_METRICS.format(population=name)
    train_infos = {name: root / plan.TRAIN_INFO.format(model=name) for name in cfg.models}
    return metrics, train_infos
