rule train_model:
    input:
        store=model_store,
    output:
        checkpoint="results/models/{model}/checkpoint.pt",
        history="results/models/{model}/history.csv",
        info="results/models/{model}/train_info.json",
        curves=report(
            "results/models/{model}/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "training curves"},
        ),
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 2
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(240),
        gpu=0,  # profiles/slurm asks for 1; locally training runs on the CPU
    params:
        spec=model_spec,
        summary=model_caption,
    shell:
        "deeplense --threads {threads} train --spec {params.spec:q} --store {input.store:q} "
        "--checkpoint {output.checkpoint:q} --history {output.history:q} --info {output.info:q} "
        "--curves {output.curves:q} > {log:q} 2>&1"
