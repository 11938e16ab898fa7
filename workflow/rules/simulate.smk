rule simulate_shard:
    output:
        directory("results/datasets/{dataset}/shards/{cls}/{shard}.zarr"),
    log:
        "results/logs/simulate/{dataset}/{cls}/{shard}.log",
    benchmark:
        "results/benchmarks/simulate/{dataset}/{cls}/{shard}.tsv"
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
