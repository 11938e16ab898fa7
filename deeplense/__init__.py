"""deeplense: reproducible simulation-to-inference workflow for dark-matter strong lensing."""

# Bump when a code change alters simulated images, stores or trained models: the version is
# passed to every Snakemake rule in its params, so outputs made by older code are rebuilt.
__version__ = "0.6.0"
