# Trained models applied to datasets or new images (`predictions:`): `deeplense predict` on the
# job's threads (in its process, or a Dask LocalCluster for large inputs), then the report's score distribution and top images.


rule predict:
    input:
        unpack(prediction_inputs),
    output:
        directory(plan.PREDICTION_STORE),
    log:
        "results/logs/predict/{prediction}.log",
    benchmark:
        "results/benchmarks/predict/{prediction}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: prediction_workers
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(60),
    params:
        spec=prediction_spec,
        options=prediction_options,
    shell:
        "deeplense --threads {threads} predict {input.checkpoint:q} {input.images:q} --output {output:q} --workers {threads} "
        "{params.options:q} --quiet > {log:q} 2>&1"


rule prediction_figures:
    input:
        plan.PREDICTION_STORE,
    output:
        report(
            directory(plan.PREDICTION_FIGURES),
            patterns=["{figure}.png"],
            caption="../report/predictions.rst",
            category="Predictions",
            subcategory="{prediction}",
            labels={"prediction": "{prediction}", "figure": "{figure}"},
        ),
    log:
        "results/logs/predict/{prediction}_figures.log",
    benchmark:
        "results/benchmarks/predict/{prediction}_figures.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
    params:
        options=prediction_figure_options,
        summary=prediction_summary,
    shell:
        "deeplense --threads {threads} prediction-figures {input:q} --figures {output:q} {params.options:q} > {log:q} 2>&1"
