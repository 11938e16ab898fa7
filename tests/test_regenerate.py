"""`deeplense regenerate STORE INDEX` rebuilds an image from the store's record alone."""

import subprocess
import sys

import numpy as np
import pytest
import zarr

from deeplense.simulation.regenerate import regenerate
from tests.conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "deeplense", *args], capture_output=True, text=True, cwd=ROOT)


def test_every_class_regenerates_bit_identically(small_store):
    import xarray as xr

    labels = xr.open_zarr(small_store)["label"].values
    for label in np.unique(labels):
        index = int(np.flatnonzero(labels == label)[-1])
        result = regenerate(small_store, index)
        assert result.identical, (index, result.class_name)
        assert result.rebuilt.image.shape == result.stored.shape


def test_cli_check_passes_and_detects_a_changed_image(small_store, tmp_path):
    out = tmp_path / "img.npy"
    ok = run("regenerate", str(small_store), "13", "--check", "--output", str(out))
    assert ok.returncode == 0, ok.stderr
    assert "identical" in ok.stdout and np.load(out).shape == (1, 24, 24)
    # tamper with a copy of the store: the check must fail
    import shutil

    bad = tmp_path / "bad.zarr"
    shutil.copytree(small_store, bad)
    arr = zarr.open_array(str(bad / "image"), mode="r+")
    arr[13, 0, 5, 5] = arr[13, 0, 5, 5] + 1.0
    failed = run("regenerate", str(bad), "13", "--check")
    assert failed.returncode == 1 and "DIFFERENT" in failed.stdout
    from deeplense.storage.dataset_store import StoreError

    with pytest.raises(StoreError, match="index 999 out of range"):
        regenerate(small_store, 999)


def test_pyhalo_image_regenerates_in_a_fresh_process(tmp_path):
    """A pyHalo image rebuilt by another process (its own pyHalo tables, seeded from the record)
    is bit-identical to the stored one."""
    from deeplense.experiment import load_config
    from tests.conftest import build_store

    cfg = load_config({
        "seed": 4,
        "simulation": {"shard_size": 2},
        "datasets": {"small": {
            "instrument": {"num_pix": 20, "pixel_scale": 0.25, "psf_fwhm": 0.25},
            "classes": [
                {"name": "no_sub", "scenario": "no_sub", "n_images": 1},
                {"name": "wdm", "scenario": "wdm", "n_images": 2,
                 "params": {"log_mc": {"dist": "uniform", "low": 7.0, "high": 9.0}, "log_mlow": 7.5,
                            "cone_opening_angle_arcsec": 3.0, "LOS_normalization": 0.5}},
            ],
        }},
    })
    store, _ = build_store(cfg, tmp_path)
    out = run("regenerate", str(store), "2", "--check")
    assert out.returncode == 0 and "(wdm," in out.stdout, out.stdout + out.stderr
