"""The torch boundary: batches of normalised (and optionally D4-augmented) image tensors streamed
from whole Zarr chunks through a bounded shuffle pool.

Memory: a shuffle block holds as many decoded chunks as fit in ``buffer_mb`` beside the bytes of
the chunk being read (at least one chunk), and each batch is gathered from it; so memory stays
within the budget (per process).

Workers do not change the batches. Every DataLoader worker plans the same sequence of batches
from (seed, epoch) and yields every n-th one (worker w: batches w, w + n, ...); the DataLoader
takes one batch from each worker in turn, so the epoch is the single-process sequence, batch for
batch. Augmentation and noise draw from a stream per batch, ``(seed, epoch, batch)``, not per
worker. The price: each worker decodes every chunk (decoding runs at ≈ 18,000 images/s against
≈ 70 images/s of CPU training, so this is negligible). Workers are started with the
``forkserver`` method, so no worker inherits a Zarr or Dask thread pool through ``fork``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from deeplense.data.batches import chunk_plan, ordered_batches, read_plan, shuffled_batches
from deeplense.storage.chunk_reader import ChunkReader

WORKER_START_METHOD = "forkserver"


def d4_transform(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 symmetries of the square (k in 0..7): rotation by k%4 × 90°, flipped if k ≥ 4."""
    out = np.rot90(image, k % 4, axes=(-2, -1))
    if k >= 4:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


def d4_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image of a (n, band, y, x) batch under its own random D4 symmetry."""
    ks = rng.integers(8, size=images.shape[0])
    out = np.empty_like(images)
    for k in np.unique(ks):
        sel = ks == k
        out[sel] = d4_transform(images[sel], int(k))
    return out


class ChunkStream(IterableDataset):
    """Yields batches ``(images, targets, samples)`` of the samples ``indices`` of a store.

    ``shuffle``: chunk order and pool mixing are random, reproducible for (seed, epoch) whatever
    the number of workers; every sample comes exactly once per epoch. Without it, batches follow
    store order. ``augment``: a random D4 symmetry per image; ``noise_std``: added Gaussian noise
    (training only); both drawn from the batch's own stream (seed, epoch, batch).
    """

    def __init__(
        self,
        store: str | Path,
        indices: np.ndarray,
        targets: np.ndarray,
        mean: list[float],
        std: list[float],
        *,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        buffer_mb: float = 256.0,
        augment: bool = False,
        noise_std: float = 0.0,
    ) -> None:
        self.store = str(store)
        self.indices = np.sort(np.asarray(indices, dtype=np.int64))
        self.targets = np.asarray(targets)
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.inv_std = (1.0 / np.asarray(std, dtype=np.float32))[:, None, None]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.buffer_mb = buffer_mb
        self.augment = augment
        self.noise_std = noise_std
        self.epoch = 0
        ChunkReader(self.store).check_present()  # fail now, naming the file, not mid-epoch

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently, and reproducibly, for each epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Number of batches per epoch (the same with any number of workers)."""
        return -(-self.indices.size // self.batch_size)

    def block_chunks(self, chunk_bytes: int) -> int:
        """Chunks per shuffle block: the budget less three chunks' worth for the compressed bytes
        of the chunk being read, the batch, the carry-over and the decoders' own buffers; at
        least one. benchmarks/loader.py checks the peak."""
        return max(1, int(self.buffer_mb * 2**20 // chunk_bytes) - 3)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        worker = get_worker_info()
        worker_id, n_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        for number, (images, samples) in enumerate(self._batches()):
            if number % n_workers == worker_id:
                yield self._tensors(images, samples, np.random.default_rng([self.seed, self.epoch, 2, number]))

    def _batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The epoch's batches (images, samples) before normalisation: the same in every process."""
        reader = ChunkReader(self.store)
        plan = chunk_plan(reader, self.indices)
        if not self.shuffle:
            yield from ordered_batches(read_plan(reader, plan), self.batch_size)
            return
        order = np.random.default_rng([self.seed, self.epoch]).permutation(len(plan))
        plan = [plan[i] for i in order]
        chunk_bytes = reader.chunk_images * int(np.prod(reader.array.shape[1:])) * reader.array.dtype.itemsize
        mixing = np.random.default_rng([self.seed, self.epoch, 1])
        yield from shuffled_batches(reader, plan, self.batch_size, self.block_chunks(chunk_bytes), mixing)

    def _tensors(self, images: np.ndarray, samples: np.ndarray, rng: np.random.Generator):
        # gathered batches are fresh arrays: normalise in place; store-order views get a copy
        out = images if images.flags.owndata and images.flags.writeable else images.copy()
        out -= self.mean
        out *= self.inv_std
        if self.augment:
            out = d4_batch(out, rng)
        if self.noise_std > 0:  # Gaussian noise in units of the image std (after normalising)
            out += rng.normal(0.0, self.noise_std, size=out.shape).astype(out.dtype)
        return torch.from_numpy(out), torch.from_numpy(self.targets[samples]), torch.from_numpy(samples)


def make_loader(stream: ChunkStream, num_workers: int = 0) -> DataLoader:
    """A DataLoader over a ChunkStream (which batches itself)."""
    if num_workers == 0:
        return DataLoader(stream, batch_size=None)
    return DataLoader(stream, batch_size=None, num_workers=num_workers, multiprocessing_context=WORKER_START_METHOD)
