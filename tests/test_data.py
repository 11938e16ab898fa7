"""Splits and the chunk-streaming loader."""

import numpy as np
import pytest
import torch

from deeplense.data import open_dataset
from deeplense.data.normalisation import image_stats
from deeplense.data.splits import assign_splits, dataset_splits
from deeplense.data.batches import ordered_batches, shuffled_batches
from deeplense.data.torch_loader import ChunkStream, d4_transform, make_loader

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


def _stream(store, indices, shuffle, batch_size=4, buffer_mb=0.01, seed=0):
    ds = open_dataset(store)
    targets = ds["label"].values.astype(np.int64)
    stats = image_stats(ds, indices)
    return ChunkStream(store, indices, targets, stats["mean"], stats["std"], batch_size=batch_size, shuffle=shuffle, seed=seed, buffer_mb=buffer_mb)


def _order(stream, workers=0):
    return [int(s) for _, _, batch in make_loader(stream, workers) for s in batch]


def test_shuffled_epoch_yields_each_sample_once_deterministically(small_store):
    indices = np.arange(3, 36, 2)
    stream = _stream(small_store, indices, shuffle=True)
    order0 = _order(stream)
    assert sorted(order0) == indices.tolist()
    assert order0 != indices.tolist()
    assert _order(stream) == order0  # same (seed, epoch): same order
    stream.set_epoch(1)
    assert _order(stream) != order0


@pytest.mark.parametrize("shuffle", [True, False])
def test_batches_do_not_depend_on_the_number_of_workers(small_store, shuffle):
    """With 0, 1 or 2 (forkserver) workers an epoch is the same batches in the same order: the
    same samples, the same augmentation and noise, bit for bit."""
    def epoch(workers):
        stream = _stream(small_store, np.arange(36), shuffle=shuffle, batch_size=5)
        stream.augment, stream.noise_std = shuffle, 0.5 if shuffle else 0.0
        stream.set_epoch(3)
        return [(x.numpy(), y.numpy(), s.numpy()) for x, y, s in make_loader(stream, workers)]

    single = epoch(0)
    assert sorted(int(s) for _, _, batch in single for s in batch) == list(range(36))
    assert [b[0].shape[0] for b in single] == [5] * 7 + [1]
    for workers in (1, 2):
        other = epoch(workers)
        assert len(other) == len(single), workers
        for (xa, ya, sa), (xb, yb, sb) in zip(single, other):
            assert np.array_equal(sa, sb) and np.array_equal(ya, yb) and np.array_equal(xa, xb), workers


def test_unshuffled_stream_matches_store_and_normalisation(small_store):
    indices = np.array([0, 5, 13, 30])
    stream = _stream(small_store, indices, shuffle=False, batch_size=3)
    batches = list(make_loader(stream))
    assert [b[0].shape[0] for b in batches] == [3, 1]
    images = torch.cat([b[0] for b in batches])
    assert torch.cat([b[2] for b in batches]).tolist() == indices.tolist()
    assert torch.cat([b[1] for b in batches]).tolist() == [0, 0, 1, 2]
    raw = open_dataset(small_store)["image"].values[indices]
    assert images.dtype == torch.float32
    np.testing.assert_allclose(images.numpy(), (raw - stream.mean) * stream.inv_std, rtol=1e-5, atol=1e-6)


def test_augmentation_applies_a_d4_symmetry_per_image(small_store):
    stream = _stream(small_store, np.arange(36), shuffle=False, batch_size=36)
    plain = next(iter(make_loader(stream)))[0].numpy()
    stream.augment = True
    augmented = next(iter(make_loader(stream)))[0].numpy()
    for a, p in zip(augmented, plain):
        assert any(np.array_equal(a, d4_transform(p, k)) for k in range(8))
    assert not np.array_equal(augmented, plain)


class CountingReader:
    """A stand-in chunk source with the ChunkReader interface, counting the chunks decoded; each
    image holds its own sample id, so the test sees that images travel with their ids."""

    def __init__(self, n_chunks: int, chunk: int):
        self.chunk_images = chunk
        self.bounds = np.arange(n_chunks + 1) * chunk
        self.array = np.empty((n_chunks * chunk, 1))
        self.decoded = 0

    def read_into(self, c: int, out: np.ndarray) -> int:
        self.decoded += self.chunk_images
        out[: self.chunk_images, 0] = np.arange(self.bounds[c], self.bounds[c + 1])
        return self.chunk_images


def test_shuffle_blocks_stay_bounded_and_mix_chunks():
    """Samples decoded but not yet emitted never exceed a block of chunks plus a batch; a batch
    mixes samples of several chunks; every selected sample comes exactly once."""
    chunk, block, batch = 10, 3, 4
    reader = CountingReader(20, chunk)
    selected = np.arange(0, 200, 2)  # half of each chunk, like a training split
    plan = [(c, selected[(selected >= c * chunk) & (selected < (c + 1) * chunk)]) for c in range(20)]
    plan = [plan[i] for i in np.random.default_rng(1).permutation(20)]
    emitted, seen, chunks_per_batch = 0, [], []
    for x, s in shuffled_batches(reader, plan, batch, block, np.random.default_rng(0)):
        emitted += s.size
        assert reader.decoded / 2 - emitted <= block * chunk + batch
        assert np.array_equal(x[:, 0], s)
        seen.extend(s.tolist())
        chunks_per_batch.append(len(set((s // chunk).tolist())))
    assert sorted(seen) == selected.tolist()
    assert np.mean(chunks_per_batch) > 2


def test_ordered_batches_keep_order():
    parts = [(np.arange(n, dtype=np.float32)[:, None], np.arange(n)) for n in (3, 5, 2)]
    out = list(ordered_batches(iter(parts), 4))
    assert [b[1].tolist() for b in out] == [[0, 1, 2, 0], [1, 2, 3, 4], [0, 1]]


def test_normalisation_uses_only_given_samples(small_store):
    ds = open_dataset(small_store)
    stats = image_stats(ds, np.arange(12))
    assert stats["mean"][0] == pytest.approx(float(ds["image"].values[:12].mean()), rel=1e-6)
