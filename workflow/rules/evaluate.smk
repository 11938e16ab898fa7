rule evaluate_model:
    input:
        checkpoint="results/models/{model}/checkpoint.pt",
        store=model_store,
    output:
        metrics="results/models/{model}/metrics.json",
        predictions="results/models/{model}/predictions.csv",
        roc=report(
            "results/models/{model}/roc.png",
            caption="../report/roc.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "ROC curves"},
        ),
        confusion=report(
            "results/models/{model}/confusion.png",
            caption="../report/confusion.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "confusion matrix"},
        ),
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(30),
    params:
        spec=model_spec,
    shell:
        "deeplense --threads {threads} evaluate --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--store {input.store:q} --metrics {output.metrics:q} --predictions {output.predictions:q} "
        "--roc {output.roc:q} --confusion {output.confusion:q} > {log:q} 2>&1"
