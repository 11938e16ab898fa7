# Named targets: `snakemake datasets`, `snakemake train`, `snakemake report`, and one per
# dataset (`snakemake dataset_<name>`) and per model (`snakemake model_<name>`).


localrules:
    datasets,
    train,
    report,


rule datasets:
    input:
        all_stores(),
        all_galleries(),


rule train:
    input:
        all_checkpoints(),


rule report:
    input:
        all_outputs(),


for _dataset in CFG.datasets:

    rule:
        name:
            f"dataset_{_dataset}"
        input:
            f"results/datasets/{_dataset}/dataset.zarr",
            f"results/datasets/{_dataset}/gallery.png",
        localrule: True


for _model in CFG.models:

    rule:
        name:
            f"model_{_model}"
        input:
            f"results/models/{_model}/metrics.json",
        localrule: True
