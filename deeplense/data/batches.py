"""Batches from whole chunks: in store order, or shuffled within bounded blocks of chunks.

Pure numpy (the torch wrapper is ``torch_loader``). Shuffling reads chunks in a random order and
mixes the samples of ``block_chunks`` chunks at a time, so every sample is emitted exactly once
per pass and memory stays bounded whatever the dataset size.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from deeplense.storage.chunk_reader import ChunkReader


def chunk_plan(reader: ChunkReader, indices: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(chunk, the selected samples in it) for every chunk holding a selected sample."""
    indices = np.sort(np.asarray(indices, dtype=np.int64))
    chunks = reader.chunk_of(indices)
    cut = np.flatnonzero(np.diff(chunks)) + 1
    return [(int(group_chunks[0]), group) for group_chunks, group in zip(np.split(chunks, cut), np.split(indices, cut)) if group.size]


def read_plan(reader: ChunkReader, plan: list[tuple[int, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(images, samples) of each planned chunk, only the selected samples."""
    for chunk, samples in plan:
        block = reader.read(chunk)
        local = samples - reader.bounds[chunk]
        yield (block if local.size == block.shape[0] else block[local]), samples


def ordered_batches(parts: Iterator[tuple[np.ndarray, np.ndarray]], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive batches in the order the parts arrive."""
    xs: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    held = 0
    for x, s in parts:
        xs.append(x)
        ss.append(s)
        held += s.size
        if held >= batch_size:
            x_all, s_all = np.concatenate(xs), np.concatenate(ss)
            n_full = held // batch_size * batch_size
            for i in range(0, n_full, batch_size):
                yield x_all[i : i + batch_size], s_all[i : i + batch_size]
            xs, ss, held = [x_all[n_full:]], [s_all[n_full:]], held - n_full
    if held:
        yield np.concatenate(xs), np.concatenate(ss)


def shuffled_batches(
    reader: ChunkReader, plan: list[tuple[int, np.ndarray]], batch_size: int, block_chunks: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Random batches from blocks of ``block_chunks`` chunks, decoded straight into one block array.

    Each block's selected samples (plus the few left over from the previous block, kept in the
    block's spare rows) are permuted, and each batch is one ``np.take`` from the block: one copy
    per image, and memory of ``block_chunks`` chunks plus a batch whatever the dataset size.
    """
    if not plan:
        return
    chunk = reader.chunk_images
    per_block = min(block_chunks, len(plan))
    block = np.empty((per_block * chunk + batch_size, *reader.array.shape[1:]), dtype=np.float32)
    carry_rows = np.empty(0, dtype=np.int64)
    carry_samples = np.empty(0, dtype=np.int64)
    for first in range(0, len(plan), per_block):
        entries = plan[first : first + per_block]
        last = first + per_block >= len(plan)
        spare = per_block * chunk  # carried-over images move to the spare rows at the end
        block[spare : spare + carry_rows.size] = block[carry_rows]
        rows = [np.arange(spare, spare + carry_rows.size)]
        samples = [carry_samples]
        for slot, (c, selected) in enumerate(entries):
            reader.read_into(c, block[slot * chunk : (slot + 1) * chunk])
            rows.append(slot * chunk + (selected - reader.bounds[c]))
            samples.append(selected)
        rows_all, samples_all = np.concatenate(rows), np.concatenate(samples)
        perm = rng.permutation(rows_all.size)
        n_out = perm.size if last else perm.size // batch_size * batch_size
        for i in range(0, n_out, batch_size):
            take = perm[i : i + batch_size]
            yield np.take(block, rows_all[take], axis=0), samples_all[take]
        carry_rows, carry_samples = rows_all[perm[n_out:]], samples_all[perm[n_out:]]
