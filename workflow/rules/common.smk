import os
from pathlib import Path

from deeplense.report import captions
from deeplense.workflow import plan

# Rules run the `deeplense` command: from the project's .venv (`make run` puts it on PATH) or
# from the rule's conda environment (--use-conda).
NAME = "[A-Za-z][A-Za-z0-9_]*"
# Each renderer backend's simulation rule claims only the shards of its own classes (by shard key).
LENSTRONOMY_SHARDS = plan.backend_pattern(CFG, "lenstronomy")
AUTOLENS_SHARDS = plan.backend_pattern(CFG, "autolens")
# The models of `models:` train from their config; each search's best model (`<search>_best`)
# from the config its search found: two rules each claim only their own models' outputs.
SEARCH_MODELS = plan.search_models(CFG)
CONFIGURED_MODELS = plan.names_pattern(list(CFG.models))
# Posterior models are evaluated by the same command, shown in the report's Inference category.
POSTERIOR_MODELS = plan.names_pattern(
    [m for m, c in CFG.models.items() if c.task == "posterior"]
)
POINT_MODELS = plan.names_pattern(
    [m for m, c in CFG.models.items() if c.task != "posterior"]
)
SEARCH_BEST_MODELS = plan.names_pattern(list(SEARCH_MODELS))
# Models trained more than once (`seeds:` > 1): their repeats 1.. train and evaluate by own rules.
REPEATED_MODELS = plan.names_pattern(sorted({m for m, _ in plan.repeats(CFG)}))
# This repository's sources, for jobs whose environment does not install deeplense (the
# PyAutoLens conda env): jobs inherit the variable.
os.environ.setdefault("DEEPLENSE_SOURCES", str(Path(workflow.basedir).resolve()))


wildcard_constraints:
    dataset=NAME,
    cls=NAME,
    model=NAME,
    sweep=NAME,
    curve=NAME,
    search=NAME,
    prediction=NAME,
    population=NAME,
    worker=r"\d+",
    repeat=r"[1-9]\d*",
    shard=r"\d{4}",
    key=r"[0-9a-f]{16}",
    subset=rf"{NAME}(\+{NAME})*",


def scaled(base):
    """A resource that grows with each retry: ``base`` × attempt (out-of-memory or time-outs
    on a cluster get more on the next try)."""

    def resource(wildcards, attempt):
        return base * attempt

    return resource


def simulate_spec(wildcards):
    return plan.simulate_spec(CFG, wildcards.cls, wildcards.key)


def shard_priority(wildcards):
    return plan.shard_priority(CFG, wildcards.cls, wildcards.key, int(wildcards.shard))


def train_priority(wildcards):
    return plan.train_priority(CFG, wildcards.model)


def store_spec(wildcards):
    return plan.store_spec(CFG, wildcards.dataset, wildcards.get("subset"))


def dataset_shards(wildcards):
    return plan.store_shards(CFG, wildcards.dataset, wildcards.get("subset"))


def model_spec(wildcards):
    return plan.model_spec(CFG, wildcards.model)


def repeat_spec(wildcards):
    return plan.repeat_spec(CFG, wildcards.model, int(wildcards.repeat))


def all_repeat_metrics():
    """Every training repeat's metrics on its model's own test split (the leaderboard's seed spread)."""
    return plan.repeat_metrics(CFG)


def model_store(wildcards):
    """The store of the classes the model reads (see plan.model_store)."""
    return plan.model_store(CFG, wildcards.model)


def cross_evaluation_store(wildcards):
    """The other dataset's store of the classes the model reads."""
    return plan.model_store(CFG, wildcards.model, wildcards.dataset)


def model_threads(wildcards):
    """The model's own torch threads (part of its result, see ModelConfig.threads): the job asks
    the scheduler for them; with fewer cores Snakemake lowers {threads}, never the model's.
    """
    return CFG.models[wildcards.model].threads


def cross_evaluation_spec(wildcards):
    return plan.cross_evaluation_spec(CFG, wildcards.model, wildcards.dataset)


def model_caption(wildcards):
    return captions.model_summary(CFG, wildcards.model)


def model_figure_captions(wildcards):
    return captions.figure_captions(CFG, wildcards.model)


def dataset_caption(wildcards):
    return captions.dataset_summary(CFG, wildcards.dataset)


def all_model_captions():
    """Sorted: reordering models in the config changes no output."""
    configured = [captions.model_summary(CFG, model) for model in CFG.models]
    found = [plan.search_model_summary(CFG, model) for model in SEARCH_MODELS]
    return sorted(configured + found)


def all_metrics():
    """Every evaluation: each model on its own test split, and on its `evaluate_on` datasets,
    and each search's best model on its test split."""
    own = expand(plan.METRICS, model=CFG.models)
    cross = [plan.metrics_path(m, d) for m, d in plan.cross_evaluations(CFG)]
    return own + cross + expand(plan.METRICS, model=SEARCH_MODELS)


def search_model_origins():
    """MODEL=SEARCH for every search's best model (the leaderboard's `search` column)."""
    return [f"{model}={search}" for model, search in sorted(SEARCH_MODELS.items())]


def search_spec(wildcards):
    return plan.search_spec(CFG, wildcards.search)


def search_store(wildcards):
    return plan.search_store(CFG, wildcards.search)


def search_workers(wildcards):
    return plan.search_workers(CFG, wildcards.search)


def search_model_best(wildcards):
    """The best config of the search that ``wildcards.model`` (``<search>_best``) comes from."""
    return plan.SEARCH_BEST.format(search=SEARCH_MODELS[wildcards.model])


def search_model_store(wildcards):
    return plan.search_store(CFG, SEARCH_MODELS[wildcards.model])


def search_model_caption(wildcards):
    return plan.search_model_summary(CFG, wildcards.model)


def search_model_figure_captions(wildcards):
    """The figure captions of the base model's task (a search keeps the task)."""
    return captions.figure_captions(
        CFG, plan.search_config(CFG, SEARCH_MODELS[wildcards.model]).model
    )


def search_model_threads(wildcards):
    """The base model's torch threads (a search cannot change them)."""
    search = plan.search_config(CFG, SEARCH_MODELS[wildcards.model])
    return CFG.models[search.model].threads


def search_threads(wildcards):
    return CFG.models[plan.search_config(CFG, wildcards.search).model].threads


def sweep_spec(wildcards):
    return plan.sweep_spec(CFG, wildcards.sweep)


def sweep_metrics(wildcards):
    return plan.sweep_metrics(CFG, wildcards.sweep)


def population_spec(wildcards):
    return plan.population_spec(CFG, wildcards.population)


def population_inputs(wildcards):
    return plan.population_inputs(CFG, wildcards.population)


def reproduction_spec(wildcards):
    return plan.reproduction_spec(CFG)


def reproduction_inputs(wildcards):
    return plan.reproduction_inputs(CFG)


def learning_curve_spec(wildcards):
    return plan.learning_curve_spec(CFG, wildcards.curve)


def learning_curve_inputs(wildcards):
    return plan.learning_curve_inputs(CFG, wildcards.curve)


def prediction_inputs(wildcards):
    return plan.prediction_inputs(CFG, wildcards.prediction)


def prediction_spec(wildcards):
    return plan.prediction_spec(CFG, wildcards.prediction)


def prediction_options(wildcards):
    return plan.prediction_options(CFG, wildcards.prediction)


def prediction_figure_options(wildcards):
    return plan.prediction_figure_options(CFG, wildcards.prediction)


def prediction_workers(wildcards):
    return plan.prediction_workers(CFG, wildcards.prediction)


def prediction_summary(wildcards):
    return plan.prediction_summary(CFG, wildcards.prediction)


def all_stores():
    return expand(plan.STORE, dataset=CFG.datasets)


def all_galleries():
    return expand(plan.GALLERY, dataset=CFG.datasets)


def all_checkpoints():
    """Every model's checkpoint and its training repeats' (`seeds:`)."""
    repeats = [
        plan.REPEAT_CHECKPOINT.format(model=m, repeat=k) for m, k in plan.repeats(CFG)
    ]
    return expand(plan.CHECKPOINT, model=CFG.models) + repeats


def all_outputs():
    """Galleries of every dataset, and every model's evaluation with the leaderboard."""
    targets = (
        all_galleries() + expand(plan.PARAMETERS, dataset=CFG.datasets) + all_stores()
    )
    targets += expand(plan.SWEEP_PLOT, sweep=CFG.sweeps)
    targets += expand(plan.POPULATION_METRICS, population=CFG.populations)
    targets += expand(plan.LEARNING_CURVE_PLOT, curve=CFG.learning_curves)
    targets += expand(plan.SEARCH_TRIALS, search=CFG.searches)
    targets += expand(plan.PREDICTION_FIGURES, prediction=CFG.predictions)
    if CFG.models:
        targets += all_metrics() + all_repeat_metrics()
        # the summary is requested too: a run made before it existed makes it (for the report's landing page)
        targets += [plan.LEADERBOARD, plan.LEADERBOARD_SUMMARY]
    if plan.reproduction_entries(CFG):
        targets += [plan.REPRODUCTION, plan.REPRODUCTION_SUMMARY]
    return targets
