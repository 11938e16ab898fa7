"""Seeds and shards: the same config gives the same images however the work is split, and any
image is rebuilt exactly from the seed in its record."""

import numpy as np

from deeplense.simulation.image import simulate_image
from deeplense.simulation.seeds import image_seed
from deeplense.simulation.shards import shard_count, shard_range, simulate_shard


def test_seeds_depend_on_dataset_class_and_index_only():
    a = image_seed(1, "demo", "cdm", 5)
    assert a == image_seed(1, "demo", "cdm", 5)
    assert len({a, image_seed(2, "demo", "cdm", 5), image_seed(1, "other", "cdm", 5), image_seed(1, "demo", "wdm", 5), image_seed(1, "demo", "cdm", 6)}) == 5


def test_shard_ranges_cover_every_image_once():
    assert shard_count(23, 5) == 5
    covered = [i for s in range(5) for i in shard_range(23, 5, s)]
    assert covered == list(range(23))


def test_images_identical_whatever_the_sharding(small_cfg):
    ds = small_cfg.datasets["small"]
    cls = ds.classes[1]
    whole = simulate_shard(small_cfg.seed, "small", ds, cls, range(0, 6), progress=False)
    parts = [simulate_shard(small_cfg.seed, "small", ds, cls, r, progress=False) for r in (range(0, 2), range(2, 6))]
    assert np.array_equal(whole.images, np.concatenate([p.images for p in parts]))
    assert np.array_equal(whole.seeds, np.concatenate([p.seeds for p in parts]))
    for key in whole.records:
        assert np.array_equal(whole.records[key], np.concatenate([p.records[key] for p in parts]), equal_nan=True)


def test_image_regenerated_from_its_seed(small_cfg):
    ds = small_cfg.datasets["small"]
    shard = simulate_shard(small_cfg.seed, "small", ds, ds.classes[2], range(3, 5), progress=False)
    again = simulate_image(ds, ds.classes[2], int(shard.seeds[1]))
    assert np.array_equal(again.image, shard.images[1])
    assert again.image.dtype == np.float32 and again.image.shape == (1, 24, 24)
