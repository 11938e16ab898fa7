"""Trained models applied to new images: ``load_model`` (Python) and ``deeplense predict`` (any
input, in the calling process or on Dask distributed, into a resumable Zarr store)."""

from deeplense.predict.model import LoadedModel, load_model

__all__ = ["LoadedModel", "load_model"]
