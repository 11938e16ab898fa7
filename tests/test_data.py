"""Splits and the chunk-streaming loader."""

import numpy as np
import pytest
import torch

from deeplense.data import open_dataset
from deeplense.data.normalisation import image_stats
from deeplense.data.splits import assign_splits, dataset_splits
from deeplense.data.torch_loader import ChunkStream, d4_transform

FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def test_splits_deterministic_disjoint_stratified():
    labels = np.repeat([0, 1, 2], 100)
    index = np.tile(np.arange(100), 3)
    a = assign_splits(labels, index, ["a", "b", "c"], 5, FRACTIONS)
    assert np.array_equal(a, assign_splits(labels, index, ["a", "b", "c"], 5, FRACTIONS))
    assert not np.array_equal(a, assign_splits(labels, index, ["a", "b", "c"], 6, FRACTIONS))
    for k in range(3):
        names, counts = np.unique(a[labels == k], return_counts=True)
        assert dict(zip(names, counts)) == {"train": 70, "val": 15, "test": 15}


def test_a_sample_keeps_its_split_when_samples_are_reordered():
    labels = np.repeat([0, 1], 50)
    index = np.tile(np.arange(50), 2)
    a = assign_splits(labels, index, ["a", "b"], 1, FRACTIONS)
    perm = np.random.default_rng(0).permutation(100)
    b = assign_splits(labels[perm], index[perm], ["a", "b"], 1, FRACTIONS)
    assert np.array_equal(a[perm], b)


def test_tiny_classes_still_get_train_and_test():
    labels = np.zeros(3, dtype=int)
    out = assign_splits(labels, np.arange(3), ["a"], 0, FRACTIONS)
    assert set(out) == {"train", "val", "test"}


def test_dataset_splits_cover_store(small_store):
    splits = dataset_splits(open_dataset(small_store), FRACTIONS)
    together = np.concatenate(list(splits.values()))
    assert np.array_equal(np.sort(together), np.arange(36))


def test_d4_transforms_are_the_eight_symmetries():
    img = np.arange(16.0).reshape(1, 4, 4)
    outs = [d4_transform(img, k) for k in range(8)]
    assert len({o.tobytes() for o in outs}) == 8
    assert np.array_equal(d4_transform(d4_transform(img, 1), 3), img)


def _stream(store, indices, shuffle, buffer=5, seed=0):
    ds = open_dataset(store)
    targets = ds["label"].values.astype(np.int64)
    stats = image_stats(ds, indices)
    return ChunkStream(store, indices, targets, stats["mean"], stats["std"], shuffle=shuffle, seed=seed, buffer_images=buffer)


def test_shuffled_epoch_yields_each_sample_once_deterministically(small_store):
    indices = np.arange(3, 36, 2)
    stream = _stream(small_store, indices, shuffle=True)
    order0 = [s for _, _, s in stream]
    assert sorted(order0) == indices.tolist()
    assert order0 != indices.tolist()
    assert [s for _, _, s in stream] == order0  # same (seed, epoch): same order
    stream.set_epoch(1)
    assert [s for _, _, s in stream] != order0


def test_unshuffled_stream_matches_store_and_normalisation(small_store):
    indices = np.array([0, 5, 13, 30])
    stream = _stream(small_store, indices, shuffle=False)
    items = list(stream)
    assert [s for _, _, s in items] == indices.tolist()
    raw = open_dataset(small_store)["image"].values[indices]
    mean, std = stream.mean, stream.std
    for (img, target, _), expected in zip(items, raw):
        assert img.dtype == torch.float32
        np.testing.assert_allclose(img.numpy(), (expected - mean) / std, rtol=1e-5)
    assert [int(t) for _, t, _ in items] == [0, 0, 1, 2]


def test_normalisation_uses_only_given_samples(small_store):
    ds = open_dataset(small_store)
    stats = image_stats(ds, np.arange(12))
    assert stats["mean"][0] == pytest.approx(float(ds["image"].values[:12].mean()), rel=1e-6)
