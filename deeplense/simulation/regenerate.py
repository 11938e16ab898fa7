"""Rebuild one stored image from the store's own record: the dataset config in the store's
attributes, the image's class label and 64-bit seed. Nothing else (no experiment config, no
shard layout) enters, so a match proves the image is reproducible from its recorded physics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deeplense.config import DatasetConfig
from deeplense.simulation.image import SimulatedImage, simulate_image


@dataclass(frozen=True)
class Regenerated:
    index: int
    class_name: str
    seed: int
    stored: np.ndarray  # (band, y, x) float32, as in the store
    rebuilt: SimulatedImage

    @property
    def identical(self) -> bool:
        """Bit-identical image (dtype, shape and bytes)."""
        return self.stored.dtype == self.rebuilt.image.dtype and np.array_equal(self.stored, self.rebuilt.image)


def regenerate(store: str | Path, index: int) -> Regenerated:
    """Rebuild sample ``index`` of ``store`` from its record."""
    from deeplense.storage.dataset_store import StoreError, open_dataset

    ds = open_dataset(store)
    n = ds.sizes["sample"]
    if not 0 <= index < n:
        raise StoreError(f"dataset store {store}: index {index} out of range (it holds {n} images: 0..{n - 1})")
    dataset = DatasetConfig.model_validate(ds.attrs["config"])
    sample = ds.isel(sample=index)
    class_name = ds.attrs["classes"][int(sample["label"].values)]
    (cls,) = [c for c in dataset.classes if c.name == class_name]
    seed = int(sample["seed"].values)
    rebuilt = simulate_image(dataset, cls, seed)
    return Regenerated(index, class_name, seed, np.asarray(sample["image"].values), rebuilt)
