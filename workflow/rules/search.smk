# Hyperparameter and architecture search (Optuna): the study, `workers` parallel worker jobs
# sharing it, the summary (trials, figures, best config), then the best config trained and
# evaluated as model `<search>_best` by the rules of every model, from the spec file the summary wrote.


rule search_study:
    output:
        plan.SEARCH_STUDY,
    log:
        "results/logs/search/{search}_study.log",
    benchmark:
        "results/benchmarks/search/{search}_study.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
    params:
        spec=search_spec,
        journal=plan.SEARCH_JOURNAL,
    shell:
        "deeplense --threads {threads} search-study --spec {params.spec:q} --journal {params.journal:q} "
        "--output {output:q} > {log:q} 2>&1"


rule search_worker:
    input:
        study=plan.SEARCH_STUDY,
        store=search_store,
    output:
        plan.SEARCH_WORKER,
    log:
        "results/logs/search/{search}_worker{worker}.log",
    benchmark:
        "results/benchmarks/search/{search}_worker{worker}.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: search_threads
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(720),
        gpu=0,  # profiles/slurm asks for 1
    params:
        spec=search_spec,
        journal=plan.SEARCH_JOURNAL,
        scratch=plan.SEARCH_SCRATCH,
    shell:
        "deeplense --threads {threads} search-worker --spec {params.spec:q} --worker {wildcards.worker} "
        "--store {input.store:q} --journal {params.journal:q} --scratch {params.scratch:q} "
        "--output {output:q} > {log:q} 2>&1"


rule search_summary:
    input:
        search_workers,
    output:
        trials=plan.SEARCH_TRIALS,
        best=plan.SEARCH_BEST,
        table=report(
            plan.SEARCH_TRIALS_HTML,
            caption="../report/search_trials.rst",
            category="Search",
            subcategory="{search}",
            labels={"search": "{search}", "figure": "trials"},
        ),
        figures=report(
            directory(plan.SEARCH_FIGURES),
            patterns=["{figure}.png"],
            caption="../report/search.rst",
            category="Search",
            subcategory="{search}",
            labels={"search": "{search}", "figure": "{figure}"},
        ),
    log:
        "results/logs/search/{search}_summary.log",
    benchmark:
        "results/benchmarks/search/{search}_summary.tsv"
    conda:
        "../../envs/deeplense.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
    params:
        spec=search_spec,
        journal=plan.SEARCH_JOURNAL,
    shell:
        "deeplense --threads {threads} search-summary --spec {params.spec:q} --journal {params.journal:q} "
        "--trials {output.trials:q} --trials-html {output.table:q} --best {output.best:q} "
        "--figures {output.figures:q} > {log:q} 2>&1"


# The best config trains and is evaluated by the rules of every model, from the spec file the
# summary wrote (known only once the search has run).
use rule train_model as train_search_best with:
    input:
        store=search_model_store,
        spec=search_model_best,
    wildcard_constraints:
        model=SEARCH_BEST_MODELS,
    threads: search_model_threads
    params:
        spec=search_model_best,
        spec_option="--spec-file",
        summary=search_model_caption,


use rule evaluate_model as evaluate_search_best with:
    input:
        checkpoint=plan.CHECKPOINT,
        store=search_model_store,
        spec=search_model_best,
    wildcard_constraints:
        model=SEARCH_BEST_MODELS,
    threads: search_model_threads
    params:
        spec=search_model_best,
        spec_option="--spec-file",
        summary=search_model_caption,
        figures=search_model_figure_captions,
