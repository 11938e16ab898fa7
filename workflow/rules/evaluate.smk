rule evaluate_model:
    input:
        checkpoint=plan.CHECKPOINT,
        store=model_store,
    output:
        metrics=plan.METRICS,
        predictions=plan.PREDICTIONS,
        figures=report(
            directory(plan.FIGURES),
            patterns=["{figure}.png"],
            caption="../report/evaluation.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={
                "model": "{model}",
                "evaluated on": "own test split",
                "figure": "{figure}",
            },
        ),
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}.tsv"
    wildcard_constraints:
        model=POINT_MODELS,
    conda:
        "../../envs/deeplense.yaml"
    threads: model_threads
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(30),
    params:
        spec=model_spec,
        spec_option="--spec",  # the spec itself; a search's best model passes its file (--spec-file)
        summary=model_caption,
        figures=model_figure_captions,
    shell:
        "deeplense --threads {threads} evaluate {params.spec_option} {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--store {input.store:q} --metrics {output.metrics:q} --predictions {output.predictions:q} "
        "--figures {output.figures:q} > {log:q} 2>&1"


# A posterior model's calibration (coverage, SBC ranks, example posteriors), under Inference.
use rule evaluate_model as evaluate_posterior with:
    output:
        metrics=plan.METRICS,
        predictions=plan.PREDICTIONS,
        figures=report(
            directory(plan.FIGURES),
            patterns=["{figure}.png"],
            caption="../report/evaluation.rst",
            category="Inference",
            subcategory="{model}",
            labels={
                "model": "{model}",
                "evaluated on": "own test split",
                "figure": "{figure}",
            },
        ),
    wildcard_constraints:
        model=POSTERIOR_MODELS,


# Domain shift: a model's checkpoint on the test split of another dataset (`evaluate_on`).
use rule evaluate_model as evaluate_on_dataset with:
    input:
        checkpoint=plan.CHECKPOINT,
        store=cross_evaluation_store,
    output:
        metrics=plan.CROSS_METRICS,
        predictions=plan.CROSS_PREDICTIONS,
        figures=report(
            directory(plan.CROSS_FIGURES),
            patterns=["{figure}.png"],
            caption="../report/evaluation.rst",
            category="Evaluation",
            subcategory="{model} on {dataset}",
            labels={
                "model": "{model}",
                "evaluated on": "{dataset}",
                "figure": "{figure}",
            },
        ),
    log:
        "results/logs/evaluate/{model}_on_{dataset}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}_on_{dataset}.tsv"
    wildcard_constraints:
        model=CONFIGURED_MODELS,
    params:
        spec=cross_evaluation_spec,
        spec_option="--spec",
        summary=model_caption,
        figures=model_figure_captions,


# A training repeat (`seeds:`) on its model's own test split: the leaderboard's spread over seeds.
rule evaluate_repeat:
    input:
        checkpoint=plan.REPEAT_CHECKPOINT,
        store=model_store,
    output:
        metrics=plan.REPEAT_METRICS,
        predictions=plan.REPEAT_PREDICTIONS,
        figures=directory(plan.REPEAT_FIGURES),
    log:
        "results/logs/evaluate/{model}/seeds/{repeat}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}/seeds/{repeat}.tsv"
    wildcard_constraints:
        model=REPEATED_MODELS,
    conda:
        "../../envs/deeplense.yaml"
    threads: model_threads
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(30),
    params:
        spec=repeat_spec,
    shell:
        "deeplense --threads {threads} evaluate --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--store {input.store:q} --metrics {output.metrics:q} --predictions {output.predictions:q} "
        "--figures {output.figures:q} > {log:q} 2>&1"
