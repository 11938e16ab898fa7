rule train_model:
    input:
        store=model_store,
    output:
        checkpoint=plan.CHECKPOINT,
        history=plan.HISTORY,
        info=plan.TRAIN_INFO,
        tensorboard=directory(plan.TENSORBOARD),
        curves=report(
            plan.TRAINING_CURVES,
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "training curves"},
        ),
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    wildcard_constraints:
        model=CONFIGURED_MODELS,
    priority: train_priority
    conda:
        "../../envs/deeplense.yaml"
    threads: model_threads
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(240),
        gpu=0,  # profiles/slurm asks for 1; locally training runs on the CPU
    params:
        spec=model_spec,
        spec_option="--spec",  # the spec itself; a search's best model passes its file (--spec-file)
        summary=model_caption,
    # --resume: a run killed mid-training continues from its last epoch (train_state.pt, kept
    # beside the outputs, is only used when config, data and seed match)
    shell:
        "deeplense --threads {threads} train {params.spec_option} {params.spec:q} --store {input.store:q} "
        "--checkpoint {output.checkpoint:q} --history {output.history:q} --info {output.info:q} "
        "--tensorboard {output.tensorboard:q} --curves {output.curves:q} --resume > {log:q} 2>&1"


rule lr_range_test:
    input:
        store=model_store,
    output:
        png=report(
            plan.LR_RANGE,
            caption="../report/lr_range.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "learning-rate range test"},
        ),
        csv=plan.LR_RANGE_TABLE,
    log:
        "results/logs/lr_range/{model}.log",
    benchmark:
        "results/benchmarks/lr_range/{model}.tsv"
    wildcard_constraints:
        model=CONFIGURED_MODELS,
    conda:
        "../../envs/deeplense.yaml"
    threads: model_threads
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(60),
    params:
        spec=model_spec,
    shell:
        "deeplense --threads {threads} lr-find --spec {params.spec:q} --store {input.store:q} "
        "--output {output.png:q} > {log:q} 2>&1"


# A training repeat k >= 1 of a model with `seeds: N` (k < N): the same config and split, the
# repeat's own training seed (the spec carries it), under results/models/{model}/seeds/{repeat}/.
rule train_repeat:
    input:
        store=model_store,
    output:
        checkpoint=plan.REPEAT_CHECKPOINT,
        history=plan.REPEAT_HISTORY,
        info=plan.REPEAT_TRAIN_INFO,
        curves=plan.REPEAT_TRAINING_CURVES,
    log:
        "results/logs/train/{model}/seeds/{repeat}.log",
    benchmark:
        "results/benchmarks/train/{model}/seeds/{repeat}.tsv"
    wildcard_constraints:
        model=REPEATED_MODELS,
    priority: train_priority
    conda:
        "../../envs/deeplense.yaml"
    threads: model_threads
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(240),
        gpu=0,
    params:
        spec=repeat_spec,
    shell:
        "deeplense --threads {threads} train --spec {params.spec:q} --store {input.store:q} "
        "--checkpoint {output.checkpoint:q} --history {output.history:q} --info {output.info:q} "
        "--curves {output.curves:q} --resume > {log:q} 2>&1"
