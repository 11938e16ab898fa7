"""The dataset store: plain xarray opens it; layout, provenance, validation and atomic writes."""

import shutil

import numpy as np
import pytest
import xarray as xr

from deeplense.data import open_dataset
from deeplense.atomic import atomic_path
from deeplense.physics.records import record_fields
from deeplense.storage.dataset_store import ClassShards, StoreError, combine_shards
from tests.conftest import build_store, small_config


def test_plain_xarray_opens_the_store_lazily(small_store, small_cfg):
    ds = xr.open_zarr(small_store)  # no deeplense code involved
    assert ds["image"].dims == ("sample", "band", "y", "x")
    assert ds["image"].shape == (36, 1, 24, 24) and ds["image"].dtype == np.float32
    assert ds["image"].chunks[0] == (8, 8, 8, 8, 4)  # chunked along sample, whole images
    assert hasattr(ds["image"].data, "dask")
    assert ds.attrs["classes"] == ["no_sub", "cdm", "vortex"]
    assert ds.attrs["seed"] == small_cfg.seed and ds.attrs["format_version"] == 1
    assert ds.attrs["content_hash"].startswith("sha256:")
    assert ds.attrs["config"]["classes"][1]["scenario"] == "cdm"
    assert {"deeplense", "lenstronomy", "zarr", "numpy"} <= set(ds.attrs["software"])
    assert ds["lens_theta_E"].attrs["units"] == "arcsec" and ds["x"].attrs["units"] == "arcsec"
    compressors = ds["image"].encoding["compressors"]
    assert "zstd" in str(compressors[0])


def test_labels_records_and_not_applicable_fields(small_store):
    ds = open_dataset(small_store).compute()
    assert np.array_equal(ds["label"].values, np.repeat([0, 1, 2], 12))
    assert np.array_equal(ds["index_in_class"].values, np.tile(np.arange(12), 3))
    assert np.isfinite(ds["image"].values).all()
    assert (ds["n_halos"].values == np.repeat([0, 5, 10], 12)).all()
    vortex = ds["label"].values == 2
    assert np.isnan(ds["vortex_length"].values[~vortex]).all() and np.isfinite(ds["vortex_length"].values[vortex]).all()
    # every record field carries its declared unit and description, a field of one class too
    declared = record_fields(small_config().datasets["small"])
    stored = [k for k, v in ds.data_vars.items() if v.dims == ("sample",) and k not in ("label", "seed")]
    assert {"n_halos", "halo_mass_max", "vortex_length"} <= set(stored) and set(stored) <= set(declared)
    for name in stored:
        assert ds[name].attrs == {"units": declared[name].unit, "description": declared[name].description}, name
    assert len(set(ds["seed"].values.tolist())) == 36


def test_same_bytes_whatever_the_shard_size(small_store, tmp_path):
    cfg = small_config()
    cfg.simulation.shard_size = 12
    other, _ = build_store(cfg, tmp_path)
    a, b = xr.open_zarr(small_store), xr.open_zarr(other)
    assert a.attrs["content_hash"] == b.attrs["content_hash"]
    assert np.array_equal(a["image"].values, b["image"].values)
    for chunk in (small_store / "image" / "c").rglob("*"):
        if chunk.is_file():
            assert chunk.read_bytes() == (other / chunk.relative_to(small_store)).read_bytes()


def _shards(tmp_path, n=4):
    cfg = small_config(n=n)
    _, shards = build_store(cfg, tmp_path)
    return cfg, shards


def _combine(cfg, shards, out):
    ds = cfg.datasets["small"]
    return combine_shards(shards, out, dataset_name="small", dataset_config=ds.model_dump(mode="json"), seed=cfg.seed, image_shape=(1, 24, 24), storage=cfg.storage)


def test_missing_shard_is_named_and_nothing_written(tmp_path):
    cfg, shards = _shards(tmp_path)
    gone = shards[1].paths[0]
    shutil.rmtree(gone)
    with pytest.raises(StoreError, match=f"shard {gone} of class 'cdm' is missing"):
        _combine(cfg, shards, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.zarr")]


def test_incomplete_class_and_wrong_shape_are_named(tmp_path):
    cfg, shards = _shards(tmp_path)
    short = [ClassShards(s.name, s.n_images + 1, s.paths) for s in shards]
    with pytest.raises(StoreError, match="class 'no_sub'.*expected indices 0..4"):
        _combine(cfg, short, tmp_path / "out.zarr")
    ds = cfg.datasets["small"]
    with pytest.raises(StoreError, match=r"image shape \(1, 24, 24\), expected \(1, 32, 32\)"):
        combine_shards(shards, tmp_path / "o.zarr", dataset_name="small", dataset_config=ds.model_dump(mode="json"), seed=1, image_shape=(1, 32, 32), storage=cfg.storage)


def test_nan_image_is_rejected(tmp_path):
    cfg, shards = _shards(tmp_path)
    path = shards[2].paths[0]
    part = xr.open_zarr(path).load()
    part["image"][1, 0, 3, 3] = np.nan
    from deeplense.storage.shard_store import write_zarr

    write_zarr(part, path)
    with pytest.raises(StoreError, match=r"class 'vortex': 1 images with NaN or inf \(first: index 1\)"):
        _combine(cfg, shards, tmp_path / "out.zarr")


def test_wrong_format_version_and_missing_store(small_store, tmp_path):
    copy = tmp_path / "copy.zarr"
    shutil.copytree(small_store, copy)
    import zarr

    group = zarr.open_group(copy, mode="r+")
    group.attrs["format_version"] = 99
    with pytest.warns(UserWarning, match="Consolidated metadata"):
        zarr.consolidate_metadata(copy)
    with pytest.raises(StoreError, match="format_version 99"):
        open_dataset(copy)
    with pytest.raises(StoreError, match="does not exist"):
        open_dataset(tmp_path / "nope.zarr")


def test_atomic_path_keeps_old_output_on_failure(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_atomic_path_clears_what_a_killed_writer_left(tmp_path):
    """A SIGKILLed writer leaves its temporary behind; the next write of the same output removes it
    (and leaves other outputs' temporaries alone)."""
    target = tmp_path / "store.zarr"
    left = tmp_path / ".store.zarr.tmp-deadbeef"
    (left / "image").mkdir(parents=True)
    other = tmp_path / ".other.zarr.tmp-deadbeef"
    other.mkdir()
    with atomic_path(target) as tmp:
        tmp.mkdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "store.zarr"]


def test_storing_reads_each_shard_chunk_a_bounded_number_of_times(tmp_path):
    """Combining shards is linear in the images: no Dask task (a shard's chunk, a rechunk) runs more
    than a few times, however many store chunks the hash and the write go through (15 here)."""
    from collections import Counter

    from dask.callbacks import Callback

    cfg, shards = _shards(tmp_path, n=40)
    runs: Counter = Counter()

    class CountRuns(Callback):
        def _pretask(self, key, dsk, state):
            runs[key] += 1

    with CountRuns():
        _combine(cfg, shards, tmp_path / "out.zarr")
    assert xr.open_zarr(tmp_path / "out.zarr")["image"].chunks[0] == (8,) * 15
    key, most = runs.most_common(1)[0]
    assert most <= 4, f"task {key} ran {most} times"
