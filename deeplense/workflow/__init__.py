"""Glue between the config and Snakemake: paths, shard lists and the specs passed as rule params."""
