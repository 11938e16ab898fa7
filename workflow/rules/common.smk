# Rules run the `deeplense` command: from the project's .venv (`make run` puts it on PATH) or
# from the rule's conda environment (--use-conda).
NAME = "[A-Za-z][A-Za-z0-9_]*"


wildcard_constraints:
    dataset=NAME,
    cls=NAME,
    model=NAME,
    shard=r"\d{4}",


def simulate_spec(wildcards):
    return plan.simulate_spec(CFG, wildcards.dataset, wildcards.cls)


def store_spec(wildcards):
    return plan.store_spec(CFG, wildcards.dataset)


def dataset_shards(wildcards):
    return plan.shard_paths(CFG, wildcards.dataset)


def model_spec(wildcards):
    return plan.model_spec(CFG, wildcards.model)


def model_store(wildcards):
    return plan.store_path(CFG.models[wildcards.model].dataset)


def all_metrics():
    return expand("results/models/{model}/metrics.json", model=CFG.models)


def all_outputs():
    """Galleries of every dataset, and every model's evaluation with the leaderboard."""
    targets = expand("results/datasets/{dataset}/gallery.png", dataset=CFG.datasets)
    targets += expand("results/datasets/{dataset}/dataset.zarr", dataset=CFG.datasets)
    if CFG.models:
        targets += all_metrics()
        targets.append("results/leaderboard.html")
    return targets
