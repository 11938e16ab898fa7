rule dataset_parameters:
    input:
        plan.STORE,
    output:
        report(
            plan.PARAMETERS,
            caption="../report/parameters.rst",
            category="Datasets",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "parameter histograms"},
        ),
    log:
        "results/logs/parameters/{dataset}.log",
    benchmark:
        "results/benchmarks/parameters/{dataset}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
    params:
        summary=dataset_caption,
    shell:
        "deeplense --threads {threads} parameters --store {input:q} --output {output:q} > {log:q} 2>&1"


rule leaderboard:
    input:
        metrics=all_metrics(),
        repeats=all_repeat_metrics(),
    output:
        csv="results/leaderboard.csv",
        markdown="results/leaderboard.md",
        published="results/leaderboard_published.csv",
        summary=report(
            plan.LEADERBOARD_SUMMARY,
            caption="../report/summary.rst",
            category="Leaderboard",
            subcategory="all evaluations",
            labels={"table": "headline rows"},
        ),
        html=report(
            plan.LEADERBOARD,
            caption="../report/leaderboard.rst",
            category="Leaderboard",
            subcategory="all evaluations",
            labels={"table": "leaderboard"},
        ),
    log:
        "results/logs/leaderboard.log",
    benchmark:
        "results/benchmarks/leaderboard.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
    params:
        models=all_model_captions(),
        searches=search_model_origins(),
    shell:
        "deeplense --threads {threads} leaderboard --metrics {input.metrics:q} --seed-metrics {input.repeats:q} --csv {output.csv:q} --html {output.html:q} "
        "--markdown {output.markdown:q} --published {output.published:q} --summary {output.summary:q} "
        "--searches {params.searches:q} > {log:q} 2>&1"


rule sensitivity:
    input:
        sweep_metrics,
    output:
        png=report(
            plan.SWEEP_PLOT,
            caption="../report/sensitivity.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "figure": "sensitivity"},
        ),
        csv="results/sweeps/{sweep}.csv",
    log:
        "results/logs/sensitivity/{sweep}.log",
    benchmark:
        "results/benchmarks/sensitivity/{sweep}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
    params:
        spec=sweep_spec,
    shell:
        "deeplense --threads {threads} sensitivity --spec {params.spec:q} --metrics {input:q} "
        "--output {output.png:q} --csv {output.csv:q} > {log:q} 2>&1"


rule population:
    input:
        unpack(population_inputs),
    output:
        metrics=plan.POPULATION_METRICS,
        figures=report(
            directory(plan.POPULATION_FIGURES),
            patterns=["{figure}.png"],
            caption="../report/population.rst",
            category="Inference",
            subcategory="population {population}",
            labels={"population": "{population}", "figure": "{figure}"},
        ),
    log:
        "results/logs/population/{population}.log",
    benchmark:
        "results/benchmarks/population/{population}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(30),
    params:
        spec=population_spec,
    shell:
        "deeplense --threads {threads} population --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--stores {input.stores:q} --metrics {output.metrics:q} --figures {output.figures:q} > {log:q} 2>&1"


rule learning_curve:
    input:
        unpack(learning_curve_inputs),
    output:
        png=report(
            plan.LEARNING_CURVE_PLOT,
            caption="../report/learning_curve.rst",
            category="Learning curves",
            labels={"curve": "{curve}", "figure": "learning curve"},
        ),
        csv="results/learning_curves/{curve}.csv",
    log:
        "results/logs/learning_curve/{curve}.log",
    benchmark:
        "results/benchmarks/learning_curve/{curve}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
    params:
        spec=learning_curve_spec,
    shell:
        "deeplense --threads {threads} learning-curve --spec {params.spec:q} --metrics {input.metrics:q} "
        "--infos {input.infos:q} --output {output.png:q} --csv {output.csv:q} > {log:q} 2>&1"


rule reproduction:
    input:
        unpack(reproduction_inputs),
    output:
        csv="results/reproduction.csv",
        markdown="results/reproduction.md",
        summary=report(
            plan.REPRODUCTION_SUMMARY,
            caption="../report/summary.rst",
            category="Reproduction",
            labels={"table": "in brief"},
        ),
        html=report(
            plan.REPRODUCTION,
            caption="../report/reproduction.rst",
            category="Reproduction",
            labels={"table": "published DeepLense values beside ours"},
        ),
    log:
        "results/logs/reproduction.log",
    benchmark:
        "results/benchmarks/reproduction.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
    params:
        spec=reproduction_spec,
    shell:
        "deeplense --threads {threads} reproduction --spec {params.spec:q} --metrics {input.metrics:q} "
        "--infos {input.infos:q} --csv {output.csv:q} --html {output.html:q} --markdown {output.markdown:q} "
        "--summary {output.summary:q} > {log:q} 2>&1"
