"""Figures, dataset galleries and the leaderboard that the Snakemake report collects."""
