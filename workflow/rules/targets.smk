# Named targets: `snakemake datasets`, `snakemake train`, `snakemake searches`, and one per
# dataset (`snakemake dataset_<name>`) and per model (`snakemake model_<name>`, a search's
# `<search>_best` too). The HTML report is
# Snakemake's own: `snakemake --report results/report.html --report-after-run` (what `make run` does).


localrules:
    datasets,
    train,
    searches,


rule datasets:
    input:
        all_stores(),
        all_galleries(),


rule train:
    input:
        all_checkpoints(),


rule searches:
    input:
        expand(plan.SEARCH_TRIALS, search=CFG.searches),


for _dataset in CFG.datasets:

    rule:
        name:
            f"dataset_{_dataset}"
        input:
            plan.store_path(_dataset),
            plan.GALLERY.format(dataset=_dataset),
        localrule: True


for _model in [*CFG.models, *SEARCH_MODELS]:

    rule:
        name:
            f"model_{_model}"
        input:
            plan.metrics_path(_model),
            plan.repeat_metrics(CFG, _model),
        localrule: True
