"""Shards: contiguous ranges of one class's images, the unit of parallel simulation work."""

from __future__ import annotations

import math

import numpy as np
from tqdm import tqdm

from deeplense.config import ClassConfig, DatasetConfig
from deeplense.physics.records import record_units
from deeplense.simulation.seeds import image_seed, recipe_key
from deeplense.storage.shard_store import ShardResult


def shard_count(n_images: int, shard_size: int) -> int:
    return math.ceil(n_images / shard_size)


def shard_range(n_images: int, shard_size: int, shard: int) -> range:
    """Indices (within the class) of shard number ``shard``."""
    n_shards = shard_count(n_images, shard_size)
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range: {n_images} images in shards of {shard_size} give {n_shards}")
    return range(shard * shard_size, min((shard + 1) * shard_size, n_images))


def simulate_shard(
    global_seed: int, dataset: DatasetConfig, cls: ClassConfig, indices: range, progress: bool = True
) -> ShardResult:
    """Simulate the images ``indices`` of class ``cls``; each from its own seed, keyed by the
    class's recipe (deeplense.simulation.seeds), so the dataset's name and other classes play no part."""
    # Imported here: the renderer pulls in lenstronomy and astropy (≈ 2 s), which the workflow's
    # planning (shard_count, shard_range) and the training and evaluation jobs do not need.
    from deeplense.simulation.image import simulate_image

    fields = record_units(dataset)
    n = len(indices)
    inst = dataset.instrument
    images = np.empty((n, *inst.image_shape), dtype=np.float32)
    seeds = np.empty(n, dtype=np.uint64)
    records = {key: np.full(n, np.nan) for key in fields}
    recipe = recipe_key(dataset, cls)
    for row, index in enumerate(tqdm(indices, desc=cls.name, disable=not progress)):
        seed = image_seed(global_seed, recipe, index)
        sim = simulate_image(dataset, cls, seed)
        images[row] = sim.image
        seeds[row] = seed
        for key, value in sim.record.items():
            records[key][row] = value
    return ShardResult(images, np.asarray(indices, dtype=np.int64), seeds, records)
