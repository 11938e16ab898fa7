"""Seeds and shards: the same config gives the same images however the work is split, and any
image is rebuilt exactly from the seed in its record."""

import numpy as np

from deeplense.simulation.image import simulate_image
from deeplense.simulation.seeds import image_seed, recipe_key
from deeplense.simulation.shards import shard_count, shard_range, simulate_shard


def test_seeds_depend_on_seed_recipe_and_index_only():
    a = image_seed(1, 77, 5)
    assert a == image_seed(1, 77, 5)
    assert len({a, image_seed(2, 77, 5), image_seed(1, 78, 5), image_seed(1, 77, 6)}) == 4


def test_a_recipe_is_the_class_and_the_rendering_settings_only(small_cfg):
    """The image count, the split and the other classes do not enter a class's recipe; its own
    parameters, its name and the shared rendering settings do."""
    ds = small_cfg.datasets["small"]
    cdm = ds.classes[1]
    key = recipe_key(ds, cdm)
    same = [
        ds.model_copy(update={"classes": [cdm], "split": ds.split.model_copy(update={"train": 0.5, "val": 0.25, "test": 0.25})}),
        ds.model_copy(update={"classes": [ds.classes[0], cdm.model_copy(update={"n_images": 999})]}),
    ]
    assert recipe_key(same[0], cdm) == key and recipe_key(same[1], same[1].classes[1]) == key
    other_class = cdm.model_copy(update={"params": {**cdm.params, "n_subhalos": cdm.params.get("n_subhalos", 5) + 1}})
    renamed = cdm.model_copy(update={"name": "cdm2"})
    other_instrument = ds.model_copy(update={"instrument": ds.instrument.model_copy(update={"background_rms": 0.5})})
    assert len({key, recipe_key(ds, other_class), recipe_key(ds, renamed), recipe_key(other_instrument, cdm)}) == 4


def test_shard_ranges_cover_every_image_once():
    assert shard_count(23, 5) == 5
    covered = [i for s in range(5) for i in shard_range(23, 5, s)]
    assert covered == list(range(23))


def test_images_identical_whatever_the_sharding(small_cfg):
    ds = small_cfg.datasets["small"]
    cls = ds.classes[1]
    whole = simulate_shard(small_cfg.seed, ds, cls, range(0, 6), progress=False)
    parts = [simulate_shard(small_cfg.seed, ds, cls, r, progress=False) for r in (range(0, 2), range(2, 6))]
    assert np.array_equal(whole.images, np.concatenate([p.images for p in parts]))
    assert np.array_equal(whole.seeds, np.concatenate([p.seeds for p in parts]))
    for key in whole.records:
        assert np.array_equal(whole.records[key], np.concatenate([p.records[key] for p in parts]), equal_nan=True)


def test_image_regenerated_from_its_seed(small_cfg):
    ds = small_cfg.datasets["small"]
    shard = simulate_shard(small_cfg.seed, ds, ds.classes[2], range(3, 5), progress=False)
    again = simulate_image(ds, ds.classes[2], int(shard.seeds[1]))
    assert np.array_equal(again.image, shard.images[1])
    assert again.image.dtype == np.float32 and again.image.shape == (1, 24, 24)
