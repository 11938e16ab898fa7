"""Damaged stores fail with errors naming the store, the chunk or sample, and the problem; sharded
stores read like unsharded ones."""

import shutil

import numpy as np
import pytest
import xarray as xr
import zarr

from deeplense.storage.chunk_reader import ChunkReader
from deeplense.storage.dataset_store import StoreError, store_layout
from deeplense.config import StorageSettings
from tests.conftest import build_store, small_config


@pytest.fixture()
def store_copy(small_store, tmp_path):
    copy = tmp_path / "copy.zarr"
    shutil.copytree(small_store, copy)
    return copy


def test_missing_chunk_named_before_reading(store_copy):
    reader = ChunkReader(store_copy)
    key = reader.array.metadata.encode_chunk_key((2, 0, 0, 0))
    (store_copy / "image" / key).unlink()
    with pytest.raises(StoreError, match=rf"copy.zarr: 1 image chunk file\(s\) missing: {key}"):
        ChunkReader(store_copy).check_present()
    with pytest.raises(StoreError, match=rf"chunk 2 \(samples 16–23\) is missing its file {key}"):
        ChunkReader(store_copy).read(2)
    # through Zarr's own API (the fallback path) a missing chunk reads as NaN: caught, never served
    reader = ChunkReader(store_copy)
    reader._decode = None
    with pytest.raises(StoreError, match=r"sample 16 has NaN or inf \(chunk 2"):
        reader.read(2)


def test_corrupt_chunk_named(store_copy):
    reader = ChunkReader(store_copy)
    path = store_copy / "image" / reader.array.metadata.encode_chunk_key((1, 0, 0, 0))
    path.write_bytes(b"not a blosc frame" * 10)
    with pytest.raises(StoreError, match=r"chunk 1 \(samples 8–15\) is corrupt"):
        ChunkReader(store_copy).read(1)


def test_nan_sample_named(store_copy):
    arr = zarr.open_array(store_copy / "image", mode="r+")
    block = arr[8:16]
    block[3, 0, 5, 5] = np.inf
    arr[8:16] = block
    with pytest.raises(StoreError, match=r"sample 11 has NaN or inf \(chunk 1"):
        ChunkReader(store_copy).read(1)


def test_layout_chunks_of_at_least_1mib_and_sharding():
    s = StorageSettings()
    layout = store_layout(100_000, (1, 64, 64), s)
    assert layout.chunk_images == 256 and layout.chunk_images * 64 * 64 * 4 >= 2**20
    assert layout.shard_images is None  # 391 chunks ≤ 1000
    big = store_layout(1_000_000, (1, 64, 64), s)
    assert big.shard_images is not None and big.shard_images % big.chunk_images == 0
    assert -(-1_000_000 // big.shard_images) <= s.shard_above_chunks
    assert store_layout(10, (1, 150, 150), s).chunk_images == 10  # never larger than the dataset


@pytest.mark.parametrize("codec", ["zstd", "blosc_lz4", "none"])
def test_sharded_store_and_other_codecs_read_the_same(small_store, tmp_path, codec):
    cfg = small_config()
    cfg.storage.shard_above_chunks = 2
    cfg.storage.codec = codec
    other, _ = build_store(cfg, tmp_path)
    arr = zarr.open_array(other / "image")
    assert arr.shards is not None and arr.shards[0] == 24 and arr.chunks[0] == 8
    a, b = xr.open_zarr(small_store), xr.open_zarr(other)
    assert a.attrs["content_hash"] == b.attrs["content_hash"]
    reader = ChunkReader(other)
    reader.check_present()
    assert reader._decode is None  # sharded: read through Zarr's API
    assert np.array_equal(np.concatenate([reader.read(i) for i in range(reader.n_chunks)]), a["image"].values)


@pytest.mark.parametrize("codec", ["blosc_zstd", "zstd", "blosc_lz4", "none"])
def test_direct_chunk_decoding_equals_zarr(tmp_path, codec):
    cfg = small_config(n=7)
    cfg.storage.codec = codec
    store, _ = build_store(cfg, tmp_path)
    reader = ChunkReader(store)
    assert reader._decode is not None
    arr = zarr.open_array(store / "image")
    for chunk in range(reader.n_chunks):  # the last chunk is partial (21 images, chunks of 8)
        start, stop = reader.bounds[chunk], reader.bounds[chunk + 1]
        direct = reader.read(chunk)
        assert direct.shape[0] == stop - start
        assert np.array_equal(direct, arr[start:stop])
