rule store_dataset:
    input:
        dataset_shards,
    output:
        directory("results/datasets/{dataset}/dataset.zarr"),
    log:
        "results/logs/store/{dataset}.log",
    benchmark:
        "results/benchmarks/store/{dataset}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        spec=store_spec,
    shell:
        "deeplense store --spec {params.spec:q} --shards {input:q} --output {output:q} > {log:q} 2>&1"


rule gallery:
    input:
        "results/datasets/{dataset}/dataset.zarr",
    output:
        report(
            "results/datasets/{dataset}/gallery.png",
            caption="../report/gallery.rst",
            category="Datasets",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "image gallery"},
        ),
    log:
        "results/logs/gallery/{dataset}.log",
    benchmark:
        "results/benchmarks/gallery/{dataset}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        per_class=CFG.report.gallery_per_class,
    shell:
        "deeplense gallery --store {input:q} --per-class {params.per_class} --output {output:q} > {log:q} 2>&1"
