"""Lazy selection and concatenation of stores; inspect and validate commands."""

import shutil
import subprocess
import sys

import dask.array
import numpy as np
import pytest
import zarr

from deeplense.data import open_dataset
from deeplense.data.datasets import concat_datasets, select_samples
from deeplense.storage.dataset_store import StoreError
from tests.conftest import build_store, small_config
from tests.figures import assert_drawn


def test_select_by_parameter_stays_lazy(small_store):
    ds = open_dataset(small_store)
    long_vortices = select_samples(ds, label=2, vortex_length=(1.0, 1.5))
    assert isinstance(long_vortices["image"].data, dask.array.Array)
    lengths = long_vortices["vortex_length"].values
    assert lengths.size > 0 and ((lengths >= 1.0) & (lengths <= 1.5)).all()
    assert (long_vortices["label"].values == 2).all()
    with pytest.raises(KeyError, match="no per-sample field 'mass'; available: .*vortex_length"):
        select_samples(ds, mass=1)


def test_select_by_class_name_and_refuse_fields_a_class_does_not_record(small_store):
    ds = open_dataset(small_store)  # classes no_sub, cdm, vortex
    by_name = select_samples(ds, label="vortex", vortex_length=(1.0, 1.5))
    assert np.array_equal(by_name["sample"].values, select_samples(ds, label=2, vortex_length=(1.0, 1.5))["sample"].values)
    assert set(select_samples(ds, label=["no_sub", "cdm"])["label"].values) == {0, 1}
    with pytest.raises(ValueError, match=r"field 'vortex_length' is not recorded for the selected classes \['cdm'\]; classes that record it: vortex"):
        select_samples(ds, label="cdm", vortex_length=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"label 'axion' is not a class of this store; classes \(label = position\): \['no_sub', 'cdm', 'vortex'\]"):
        select_samples(ds, label="axion")
    with pytest.raises(ValueError, match="label 5 is out of range"):
        select_samples(ds, label=5)


def test_concat_stays_lazy_and_names_sources(small_store, tmp_path):
    other, _ = build_store(small_config(n=5, seed=9), tmp_path)
    both = concat_datasets([small_store, other])
    assert isinstance(both["image"].data, dask.array.Array)
    assert both.sizes["sample"] == 36 + 15
    assert (both["source"].values[:36] == str(small_store)).all() and (both["source"].values[36:] == str(other)).all()
    assert both.attrs["classes"] == ["no_sub", "cdm", "vortex"]
    np.testing.assert_array_equal(both["image"][36:].values, open_dataset(other)["image"].values)


def test_concat_refuses_a_class_another_store_lacks(small_store, tmp_path):
    cfg = small_config(n=4)
    cfg.datasets["small"].classes.pop(2)  # no vortex
    other, _ = build_store(cfg, tmp_path)
    with pytest.raises(StoreError, match=rf"{other} lacks class\(es\) \['vortex'\] of {small_store}"):
        concat_datasets([small_store, other])
    with pytest.raises(StoreError, match=rf"{small_store} has class\(es\) \['vortex'\] that {other} lacks"):
        concat_datasets([other, small_store])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "deeplense", *args], capture_output=True, text=True)


def test_inspect_prints_summary_and_grid(small_store, tmp_path):
    out = _cli("inspect", str(small_store), "--grid", str(tmp_path / "grid.png"), "--per-class", "2")
    assert out.returncode == 0, out.stderr
    for fragment in ("no_sub", "12 images", "chunks     8 images", "vortex_length", "[arcsec]", "lenstronomy 1.14.2", "MiB in"):
        assert fragment in out.stdout, fragment
    assert_drawn(tmp_path / "grid.png")


def test_validate_catches_tampering(small_store, tmp_path):
    assert _cli("validate", str(small_store)).returncode == 0
    copy = tmp_path / "copy.zarr"
    shutil.copytree(small_store, copy)
    arr = zarr.open_array(copy / "image", mode="r+")
    block = arr[0:8]
    block[0, 0, 0, 0] += 1.0  # a plausible, finite, wrong value
    arr[0:8] = block
    out = _cli("validate", str(copy))
    assert out.returncode == 1 and "images hash to sha256:" in out.stderr and "the store records" in out.stderr
