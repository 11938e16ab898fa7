"""Reading datasets: lazy xarray stores, deterministic splits, and (at the torch boundary) loaders.

``open_dataset`` is imported on first use, so that the split arithmetic (deeplense.data.splits),
which the config's validation reads, does not import xarray and Zarr."""

from typing import Any

__all__ = ["open_dataset"]


def __getattr__(name: str) -> Any:
    if name == "open_dataset":
        from deeplense.storage.dataset_store import open_dataset

        return open_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
