"""Reading datasets: lazy xarray stores, deterministic splits, and (at the torch boundary) loaders."""

from deeplense.storage.dataset_store import open_dataset

__all__ = ["open_dataset"]
