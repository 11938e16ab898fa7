rule simulate_shard:
    output:
        directory(plan.SHARD),
    log:
        "results/logs/simulate/{cls}/{key}/{shard}.log",
    benchmark:
        "results/benchmarks/simulate/{cls}/{key}/{shard}.tsv"
    wildcard_constraints:
        key=LENSTRONOMY_SHARDS,
    priority: shard_priority
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(60),
    params:
        spec=simulate_spec,
    shell:
        "deeplense --threads {threads} simulate --spec {params.spec:q} --shard {wildcards.shard} "
        "--output {output:q} > {log:q} 2>&1"


# Datasets with `backend: autolens`: PyAutoLens in its own Python 3.12 environment. Locally the
# `deeplense` of .venv-autolens (`make` exports DEEPLENSE_AUTOLENS); under --use-conda, deeplense
# from this repository's sources inside envs/autolens.yaml.
rule simulate_shard_autolens:
    output:
        directory(plan.SHARD),
    log:
        "results/logs/simulate/{cls}/{key}/{shard}.log",
    benchmark:
        "results/benchmarks/simulate/{cls}/{key}/{shard}.tsv"
    wildcard_constraints:
        key=AUTOLENS_SHARDS,
    conda:
        "../../envs/autolens.yaml"
    threads: 1
    resources:
        mem_mb=scaled(3000),
        runtime=scaled(120),
    params:
        spec=simulate_spec,
    shell:
        'PYTHONPATH="$DEEPLENSE_SOURCES" ${{DEEPLENSE_AUTOLENS:-python -m deeplense}} --threads {threads} simulate '
        "--spec {params.spec:q} --shard {wildcards.shard} --output {output:q} > {log:q} 2>&1"
