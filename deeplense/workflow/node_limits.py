"""Models whose jobs ask for more CPUs than one cluster node has, named before any job is submitted.

Why: SLURM (with its default ``EnforcePartLimits=NO``) accepts a job that asks for more CPUs
(``--cpus-per-task``) than any node of its partition has, and leaves it pending forever (reason
``PartitionConfig``) without a word to Snakemake. A job's CPU request is its rule's ``threads``; training, evaluation, the learning-rate
range test and search workers take them from the model's own ``threads`` (part of its result on
the CPU, see ``ModelConfig.threads``), so an experiment config can ask for more than a node has.

The SLURM profile declares the CPUs of a node as Snakemake's own ``max-threads``
(``profiles/slurm/config.yaml``, or ``--max-threads`` on the command line): Snakemake lowers every
job's threads, and so its SLURM request, to it. Such a job then runs the model's torch threads on
fewer CPUs: slower, same result. :func:`thread_warnings` says which models that concerns and what
to change; the Snakefile prints it when the workflow is loaded, before anything is submitted.
"""

from __future__ import annotations

from deeplense.config import ExperimentConfig
from deeplense.workflow import plan

#: Rules whose ``threads`` are a model's ``threads`` (search rules: their base model's).
MODEL_RULES = ("train_model", "evaluate_model", "evaluate_on_dataset", "lr_range_test")
SEARCH_RULES = ("search_worker", "train_search_best", "evaluate_search_best")


def thread_warnings(cfg: ExperimentConfig, max_threads: int | None) -> list[str]:
    """One message per model whose ``threads`` exceed ``max_threads`` (the CPUs of one node);
    none when ``max_threads`` is not set (a local run: Snakemake fits jobs to ``--cores``)."""
    if not max_threads:
        return []
    searches: dict[str, list[str]] = {}
    for search in cfg.searches:
        searches.setdefault(plan.search_config(cfg, search).model, []).append(search)
    messages = []
    for name, model in cfg.models.items():
        if model.threads <= max_threads:
            continue
        rules = ", ".join(MODEL_RULES + (SEARCH_RULES if name in searches else ()))
        via = f" and its searches ({', '.join(searches[name])})" if name in searches else ""
        messages.append(
            f"models.{name}.threads is {model.threads}, but a node has {max_threads} CPUs (max-threads in the "
            f"SLURM profile, or --max-threads): the jobs of model {name}{via} ({rules}) ask SLURM for "
            f"{max_threads} CPUs and run torch's {model.threads} threads on them (slower, same result). "
            f"If your nodes have more CPUs, set max-threads to their number in profiles/slurm/config.yaml; "
            f"else lower models.{name}.threads to at most {max_threads} (this changes the trained weights: "
            f"threads are part of a model's result on the CPU)."
        )
    for name in cfg.predictions:
        workers = plan.prediction_workers(cfg, name)
        if workers > max_threads:
            messages.append(
                f"predictions.{name}.workers is {workers}, but a node has {max_threads} CPUs (max-threads in the SLURM "
                f"profile, or --max-threads): its predict job asks SLURM for {max_threads} CPUs and starts {max_threads} "
                f"Dask workers (slower, same predictions). Set max-threads to your nodes' CPUs, or lower the workers."
            )
    return messages
