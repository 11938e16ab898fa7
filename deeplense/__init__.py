"""deeplense: reproducible simulation-to-inference workflow for dark-matter strong lensing."""

# Bump when a code change alters simulated images, stores or trained models: the version is
# passed to every Snakemake rule in its params, so outputs made by older code are rebuilt.
__version__ = "0.9.0"


def __getattr__(name: str):
    """``deeplense.load_model``, imported on first use (it needs torch; ``import deeplense`` does not)."""
    if name == "load_model":
        from deeplense.predict.model import load_model

        return load_model
    raise AttributeError(f"module 'deeplense' has no attribute {name!r}")
