rule store_dataset:
    input:
        dataset_shards,
    output:
        directory(plan.STORE),
    log:
        "results/logs/store/{dataset}.log",
    benchmark:
        "results/benchmarks/store/{dataset}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(60),
    params:
        spec=store_spec,
    shell:
        "deeplense --threads {threads} store --spec {params.spec:q} --shards {input:q} --output {output:q} > {log:q} 2>&1"


# The store of the classes a model selects: built from their shards alone, so changing, adding or
# removing another class of the dataset reruns nothing the model depends on.
use rule store_dataset as store_subset with:
    output:
        directory(plan.SUBSET_STORE),
    log:
        "results/logs/store/{dataset}/{subset}.log",
    benchmark:
        "results/benchmarks/store/{dataset}/{subset}.tsv"


rule gallery:
    input:
        plan.STORE,
    output:
        report(
            plan.GALLERY,
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
        mem_mb=scaled(2000),
        runtime=scaled(10),
    params:
        per_class=CFG.report.gallery_per_class,
        summary=dataset_caption,
    shell:
        "deeplense --threads {threads} gallery --store {input:q} --per-class {params.per_class} --output {output:q} > {log:q} 2>&1"
