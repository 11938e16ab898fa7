"""`deeplense predict` and `deeplense.load_model` on real components: models trained on a real
lenstronomy store, FITS cutouts written with astropy, xarray/Zarr and .npy inputs, a real Dask
LocalCluster, a kill mid-run and its resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import deeplense
from deeplense.cli import main
from deeplense.config import ModelConfig
from deeplense.data.splits import dataset_splits
from deeplense.pause_points import MARKER_VARIABLE, PAUSE_VARIABLE
from deeplense.predict import output
from deeplense.predict.inputs import InputError, StoreSource
from deeplense.storage.dataset_store import open_dataset
from deeplense.training.trainer import TrainOutputs, train_model
from tests.figures import saved_figures  # noqa: F401 (a fixture)

SPLIT = {"train": 0.6, "val": 0.15, "test": 0.25}
DEEPLENSE = Path(sys.executable).with_name("deeplense")
PIXEL_SCALE = 0.2  # the small store's (conftest.small_config)


@pytest.fixture(scope="module")
def models(small_store, tmp_path_factory) -> dict[str, Path]:
    """A classifier, one of two of the store's three classes, a regressor with σ and an autoencoder,
    one epoch each on the small store."""
    root = tmp_path_factory.mktemp("predict_models")
    configs = {
        "cls": ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=8, shuffle_buffer_mb=1),
        "cls2": ModelConfig(architecture="resnet18", dataset="small", classes=["no_sub", "vortex"], epochs=1, batch_size=8, shuffle_buffer_mb=1),
        "reg": ModelConfig(architecture="resnet18", dataset="small", task="regression", targets=["source_center_x"],
                           loss="gaussian_nll", epochs=1, batch_size=8, shuffle_buffer_mb=1),
        "ae": ModelConfig(architecture="conv_ae", dataset="small", task="anomaly", epochs=1, batch_size=8, shuffle_buffer_mb=1),
    }
    out = {}
    for name, cfg in configs.items():
        train_model(name, cfg, small_store, TrainOutputs.in_dir(root / name), seed=2, split=SPLIT)
        out[name] = root / name
    return out


@pytest.fixture(scope="module")
def images(small_store) -> np.ndarray:
    source = StoreSource(small_store)
    return source.read(0, source.n)


def predict(*args: str) -> int:
    return main(["predict", *map(str, args), "--quiet", "--batch-size", "8", "--block", "8", "--workers", "1"])


def write_fits(folder: Path, images: np.ndarray, pixel_scale: float = PIXEL_SCALE, bunit: str | None = None) -> list[Path]:
    """One FITS cutout per image, with its pixel scale in CDELT1/2 (degrees), as surveys write them,
    and its pixel unit in BUNIT when given."""
    from astropy.io import fits

    folder.mkdir(parents=True)
    paths = []
    for i, image in enumerate(images):
        hdu = fits.PrimaryHDU(image[0])
        hdu.header["CDELT1"] = -pixel_scale / 3600
        hdu.header["CDELT2"] = pixel_scale / 3600
        if bunit is not None:
            hdu.header["BUNIT"] = bunit
        path = folder / f"cutout_{i:03d}.fits"
        hdu.writeto(path)
        paths.append(path)
    return paths


@pytest.mark.determinism
def test_cli_on_a_store_matches_the_python_api_with_provenance(models, small_store, images, tmp_path):
    out = tmp_path / "cls.zarr"
    assert main(["predict", str(models["cls"]), str(small_store), "--output", str(out), "--quiet", "--batch-size", "8",
                 "--block", "8", "--workers", "2"]) == 0
    api = deeplense.load_model(models["cls"]).predict(images, batch_size=8)
    ds = xr.open_zarr(out)
    assert list(ds["class"].values) == ["no_sub", "cdm", "vortex"]
    np.testing.assert_array_equal(ds["id"].values, np.arange(36))
    np.testing.assert_array_equal(ds["probs"].values, api["probs"])  # the same numbers, bit for bit
    np.testing.assert_array_equal(ds["predicted_class"].values, api["probs"].argmax(1))
    classes = np.array(["no_sub", "cdm", "vortex"])
    np.testing.assert_array_equal(ds["predicted_class_name"].values, classes[api["probs"].argmax(1)])
    store_labels = open_dataset(small_store)["label"].values  # the model has the store's classes, in its order
    np.testing.assert_array_equal(ds["label"].values, store_labels)
    np.testing.assert_array_equal(ds["label_name"].values, classes[store_labels])
    np.testing.assert_allclose(ds["probs"].values.sum(1), 1, rtol=1e-5)
    prov = ds.attrs["provenance"]
    ckpt = models["cls"] / "checkpoint.pt"
    assert prov["model"]["checkpoint_sha256"] == output_sha(ckpt) and prov["model"]["config_hash"].startswith("sha256:")
    assert prov["input"]["sha256"] == open_dataset(small_store).attrs["content_hash"] and prov["input"]["kind"] == "deeplense store"
    assert {"deeplense", "torch", "distributed", "zarr"} <= set(prov["software"]) and ds.attrs["complete"]
    assert prov["class_numbering"]["model_classes"] == ["no_sub", "cdm", "vortex"] and "model_classes" in prov["class_numbering"]["label"]
    assert prov["pixel_units"] == {"unit": "counts/s", "kind": "flux per pixel (summed when pixels merge)", "assumed": False}
    table = output.table(out)
    header = ["id", "p_no_sub", "p_cdm", "p_vortex", "predicted_class", "predicted_class_name", "label", "label_name"]
    assert list(table.columns) == header
    assert (tmp_path / "cls.csv").read_text().splitlines()[0] == ",".join(header)


@pytest.mark.determinism
def test_in_process_and_cluster_write_the_same_store(models, small_store, tmp_path):
    """The calling process and a Dask LocalCluster predict the same blocks in the same batches:
    every array of the two stores is identical, and each store's provenance says where it ran."""
    stores = {}
    for executor in ("in_process", "cluster"):
        stores[executor] = out = tmp_path / f"{executor}.zarr"
        assert main(["predict", str(models["reg"]), str(small_store), "--output", str(out), "--quiet", "--batch-size", "8",
                     "--block", "16", "--workers", "2", "--executor", executor]) == 0
    here, there = zarr.open_group(str(stores["in_process"]), mode="r"), zarr.open_group(str(stores["cluster"]), mode="r")
    assert sorted(here.array_keys()) == sorted(there.array_keys())
    for name in here.array_keys():
        np.testing.assert_array_equal(here[name][:], there[name][:], err_msg=name)
    assert here.attrs["provenance"]["execution"] | {"reason": ""} == {"executor": "in_process", "workers": 2, "reason": ""}
    assert there.attrs["provenance"]["execution"]["executor"] == "cluster" and there.attrs["provenance"]["execution"]["workers"] == 2


def test_one_blocks_batches_shared_among_threads_give_the_same_bits(models, images, tmp_path):
    """With fewer blocks than threads the calling process shares each block's batches among its
    threads: the same batches, so the same bits as the Python API on one thread."""
    np.save(tmp_path / "s.npy", images[:36])
    assert main(["predict", str(models["cls"]), str(tmp_path / "s.npy"), "--output", str(tmp_path / "s.zarr"), "--quiet",
                 "--batch-size", "8", "--block", "40", "--workers", "3"]) == 0
    ds = xr.open_zarr(tmp_path / "s.zarr")
    assert ds.attrs["provenance"]["execution"] | {"reason": ""} == {"executor": "in_process", "workers": 3, "reason": ""}
    api = deeplense.load_model(models["cls"]).predict(images[:36], batch_size=8)
    for name in ("probs", "predicted_class", "predicted_class_name"):
        np.testing.assert_array_equal(ds[name].values, api[name], err_msg=name)


def test_a_small_input_runs_in_the_calling_process(models, images, tmp_path, capsys):
    """`--executor auto` (the default) starts no cluster for a few images, even with several workers."""
    np.save(tmp_path / "s.npy", images[:16])
    assert main(["predict", str(models["ae"]), str(tmp_path / "s.npy"), "--output", str(tmp_path / "s.zarr"), "--quiet",
                 "--batch-size", "8", "--block", "8", "--workers", "2"]) == 0
    assert "2 of 2 blocks computed now, in this process on 2 thread(s)" in capsys.readouterr().out
    execution = output.read_attrs(tmp_path / "s.zarr")["provenance"]["execution"]
    assert execution["executor"] == "in_process" and "one machine" in execution["reason"]


@pytest.mark.parametrize(("args", "expected"), [
    (("auto", 1, None, "local"), ("in_process", 1, "one machine")),
    (("auto", 4, None, "local"), ("in_process", 4, "one machine")),
    (("auto", 2, None, "local"), ("in_process", 2, "one machine")),
    (("auto", None, "tcp://host:8786", "local"), ("cluster", None, "--scheduler given")),
    (("auto", None, None, "slurm"), ("cluster", 1, "--cluster slurm given")),
    (("cluster", 2, None, "local"), ("cluster", 2, "asked for")),
    (("in_process", 4, None, "local"), ("in_process", 4, "asked for")),
])
def test_where_blocks_run(args, expected):
    """The rule: never a local cluster unless asked for; a named scheduler or SLURM always."""
    from deeplense.predict.run import choose_executor

    chosen = choose_executor(*args)
    assert (chosen.executor, chosen.workers) == expected[:2] and expected[2] in chosen.reason


def test_an_impossible_executor_is_refused_before_anything_is_written(models, images, tmp_path, capsys):
    np.save(tmp_path / "s.npy", images[:16])
    assert main(["predict", str(models["ae"]), str(tmp_path / "s.npy"), "--output", str(tmp_path / "s.zarr"), "--quiet",
                 "--executor", "in_process", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--executor in_process with --scheduler" in capsys.readouterr().err
    assert not list(tmp_path.glob("*s.zarr*"))


def output_sha(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_split_of_the_store_is_named_by_sample_index(models, small_store, images, tmp_path):
    out = tmp_path / "test_split.zarr"
    assert predict(models["ae"], small_store, "--split", "test", "--output", out) == 0
    test = dataset_splits(open_dataset(small_store), SPLIT)["test"]
    ds = xr.open_zarr(out)
    np.testing.assert_array_equal(ds["id"].values, test)
    np.testing.assert_allclose(ds["score"].values, deeplense.load_model(models["ae"]).predict(images[test], batch_size=8)["score"], rtol=1e-6)
    assert ds.attrs["provenance"]["input"]["split"] == "test"


def test_fits_cutouts_are_named_by_file_and_predicted_as_the_store(models, images, tmp_path):
    write_fits(tmp_path / "cutouts", images[:20])
    out = tmp_path / "fits.zarr"
    assert predict(models["reg"], tmp_path / "cutouts", "--output", out) == 0
    ds = xr.open_zarr(out)
    assert list(ds["id"].values) == [f"cutout_{i:03d}.fits" for i in range(20)]
    api = deeplense.load_model(models["reg"]).predict(images[:20], batch_size=8)
    np.testing.assert_array_equal(ds["y_pred"].values, api["y_pred"])
    assert (ds["y_sigma"].values > 0).all() and list(ds["target"].values) == ["source_center_x"]
    assert ds.attrs["provenance"]["input"]["kind"] == "fits" and ds.attrs["provenance"]["input"]["n"] == 20
    # a glob names the same files
    assert predict(models["reg"], str(tmp_path / "cutouts" / "cutout_00*.fits"), "--output", tmp_path / "glob.zarr") == 0
    assert xr.open_zarr(tmp_path / "glob.zarr")["id"].size == 10


def test_xarray_dataset_and_npy_stacks(models, images, tmp_path):
    ds = xr.Dataset({"flux": (("obj", "y", "x", "filter"), np.moveaxis(images[:12], 1, -1))}, coords={"obj": [f"lens{i}" for i in range(12)]})
    ds.to_zarr(tmp_path / "survey.zarr")
    out = tmp_path / "xr.zarr"
    assert predict(models["cls"], tmp_path / "survey.zarr", "--variable", "flux", "--sample-dim", "obj", "--band-dim", "filter",
                   "--output", out) == 0
    api = deeplense.load_model(models["cls"]).predict(images[:12], batch_size=8)
    got = xr.open_zarr(out)
    assert list(got["id"].values) == [f"lens{i}" for i in range(12)]
    np.testing.assert_array_equal(got["probs"].values, api["probs"])
    np.save(tmp_path / "a.npy", images[:5, 0])
    np.save(tmp_path / "b.npy", images[5:12])
    assert predict(models["cls"], tmp_path / "a.npy", tmp_path / "b.npy", "--output", tmp_path / "npy.zarr") == 0
    got = xr.open_zarr(tmp_path / "npy.zarr")
    assert got["id"].values[5] == "b.npy[0]"
    np.testing.assert_array_equal(got["probs"].values, api["probs"])
    # a plain Zarr array
    zarr.save_array(str(tmp_path / "plain.zarr"), images[:12])
    assert predict(models["cls"], tmp_path / "plain.zarr", "--output", tmp_path / "plain_out.zarr") == 0
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "plain_out.zarr")["probs"].values, api["probs"])


def test_each_mismatch_is_refused_naming_the_input(models, images, tmp_path, capsys):
    cases = {
        "two_bands.npy": (np.repeat(images[:4], 2, axis=1), "have 2 band(s); model cls expects 1 band(s) of 24×24 pixels at 0.2″/pixel"),
        "big.npy": (np.zeros((4, 1, 32, 32), np.float32), "images are 32×32 pixels; model cls expects 1 band(s) of 24×24 pixels"),
        "flat.npy": (np.zeros((4, 24 * 24), np.float32), "images must be (n, y, x) or (n, band, y, x)"),
    }
    for name, (array, message) in cases.items():
        np.save(tmp_path / name, array)
        assert predict(models["cls"], tmp_path / name, "--output", tmp_path / "x.zarr") == 2
        err = capsys.readouterr().err
        assert name in err and message in err, err
    write_fits(tmp_path / "coarse", images[:2], pixel_scale=0.4)
    assert predict(models["cls"], tmp_path / "coarse", "--output", tmp_path / "x.zarr") == 2
    err = capsys.readouterr().err
    assert "images are 24×24 pixels; model cls expects 1 band(s) of 24×24 pixels at 0.2″/pixel; they are at 0.4″/pixel " \
           "(a field of view of 9.6″, the model's 4.8″): pass --crop --resize to cut the central 4.8″ and resample it to the model's grid" in err
    assert "coarse" in err
    # --resize alone cannot change the field of view: the message names both options again
    assert predict(models["cls"], tmp_path / "coarse", "--resize", "--output", tmp_path / "x.zarr") == 2
    assert "pass --crop --resize to cut the central 4.8″ and resample it to the model's grid (--resize alone is not enough)" in capsys.readouterr().err
    # and they work
    assert predict(models["cls"], tmp_path / "coarse", "--crop", "--resize", "--output", tmp_path / "coarse.zarr") == 0
    # images at the model's scale over a larger field: --crop alone
    write_fits(tmp_path / "wide", np.pad(images[:2], ((0, 0), (0, 0), (4, 4), (4, 4))))
    assert predict(models["cls"], tmp_path / "wide", "--output", tmp_path / "x.zarr") == 2
    assert "they are at 0.2″/pixel (a field of view of 6.4″, the model's 4.8″): pass --crop to cut the central 4.8″" in capsys.readouterr().err
    # smaller than the model's field of view: no option helps, and the message says so
    write_fits(tmp_path / "small", images[:2, :, 4:20, 4:20])
    assert predict(models["cls"], tmp_path / "small", "--crop", "--resize", "--output", tmp_path / "x.zarr") == 2
    assert "they cover less than the model's field of view, and no option pads them" in capsys.readouterr().err
    # --resize of images without a pixel scale assumes the model's field of view
    assert predict(models["cls"], tmp_path / "big.npy", "--resize", "--output", tmp_path / "x.zarr") == 0
    assert predict(models["cls"], tmp_path / "big.npy", "--crop", "--output", tmp_path / "x.zarr") == 2
    assert "--crop cuts the model's field of view and needs the input's pixel scale" in capsys.readouterr().err
    for bad, message in [(tmp_path / "missing", "does not exist"), (tmp_path / "a.txt", "unknown kind"),
                         (str(tmp_path / "none*.fits"), "matches no file")]:
        if bad == tmp_path / "a.txt":
            bad.write_text("x")
        assert predict(models["cls"], bad, "--output", tmp_path / "x.zarr") == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.zarr.partial").exists()


def quarters(images: np.ndarray) -> np.ndarray:
    """The same images on a grid twice as fine, each pixel's flux split into four quarters."""
    return np.repeat(np.repeat(images, 2, axis=2), 2, axis=3) / 4


def test_resize_conserves_flux_per_pixel(models, images, tmp_path, capsys):
    """Stored images are counts/s per pixel: a finer cutout of the same field, each pixel split
    into four quarters, predicts what the original does once resampled (the quarters summed); an
    area average would leave it four times too faint, as the copy that repeats each value shows."""
    model = deeplense.load_model(models["cls"])
    original = model.predict(images[:8], batch_size=8)["probs"]
    write_fits(tmp_path / "fine", quarters(images[:8]), pixel_scale=PIXEL_SCALE / 2, bunit="counts/s")
    assert predict(models["cls"], tmp_path / "fine", "--resize", "--output", tmp_path / "fine.zarr") == 0
    got = xr.open_zarr(tmp_path / "fine.zarr")
    np.testing.assert_allclose(got["probs"].values, original, rtol=1e-6, atol=1e-7)
    assert got.attrs["provenance"]["resampled_to"] == [1, 24, 24] and got.attrs["provenance"]["pixel_units"]["unit"] == "counts/s"
    # an area average of the quarters is a quarter of the flux: a different image, another prediction
    faint = model.predict(images[:8] / 4, batch_size=8)["probs"]
    assert np.abs(faint - original).max() > 1e-3
    # the same in Python, with no unit: a flux per pixel, as the training images
    np.testing.assert_allclose(model.predict(quarters(images[:8]), batch_size=8)["probs"], original, rtol=1e-6, atol=1e-7)
    # going to a finer grid divides: a coarser image of the same field becomes its quarters
    coarse = images[:8].reshape(8, 1, 12, 2, 12, 2).sum(axis=(3, 5))
    np.testing.assert_allclose(model.preprocess(coarse), model.preprocess(quarters(coarse)), rtol=1e-6, atol=1e-6)


def test_resize_averages_a_surface_brightness(models, images, tmp_path, capsys):
    """Pixels per arcsec² (BUNIT) are averaged: the copy that repeats each value predicts as the
    original. A unit that cannot be summed or averaged is refused, naming the file and the unit."""
    original = deeplense.load_model(models["cls"]).predict(images[:4], batch_size=8)["probs"]
    repeated = np.repeat(np.repeat(images[:4], 2, axis=2), 2, axis=3)
    write_fits(tmp_path / "sb", repeated, pixel_scale=PIXEL_SCALE / 2, bunit="counts/s/arcsec2")
    assert predict(models["cls"], tmp_path / "sb", "--resize", "--output", tmp_path / "sb.zarr") == 0
    got = xr.open_zarr(tmp_path / "sb.zarr")
    np.testing.assert_allclose(got["probs"].values, original, rtol=1e-6, atol=1e-7)
    assert got.attrs["provenance"]["pixel_units"]["kind"] == "surface brightness (averaged when resampled)"
    write_fits(tmp_path / "mag", repeated, pixel_scale=PIXEL_SCALE / 2, bunit="mag/arcsec2")
    assert predict(models["cls"], tmp_path / "mag", "--resize", "--output", tmp_path / "x.zarr") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mag' / 'cutout_000.fits'}: BUNIT: pixel unit 'mag/arcsec2' is logarithmic" in err
    assert "allowed: a flux per pixel (counts/s, e-/s, ADU" in err and "or a surface brightness (the same per arcsec2 or per sr), averaged" in err


def test_crop_cuts_the_models_field_of_view_from_the_centre(models, images, tmp_path):
    """A larger cutout at the model's scale is cut to its field of view (--crop); a larger one on
    a finer grid is cut and resampled (--crop --resize): both predict as the original images, and
    the output says what was done."""
    model = deeplense.load_model(models["reg"])
    original = model.predict(images[:8], batch_size=8)["y_pred"]
    rng = np.random.default_rng(0)
    wide = np.pad(images[:8], ((0, 0), (0, 0), (5, 5), (5, 5)))
    wide[..., :5, :] = rng.normal(size=wide[..., :5, :].shape)  # a neighbour in the border: cut away
    write_fits(tmp_path / "wide", wide)
    assert predict(models["reg"], tmp_path / "wide", "--crop", "--output", tmp_path / "wide.zarr") == 0
    got = xr.open_zarr(tmp_path / "wide.zarr")
    np.testing.assert_array_equal(got["y_pred"].values, original)
    prov = got.attrs["provenance"]
    assert prov["crop"] == {"pixels": 24.0, "centred": True, "resampled": False} and prov["resampled_to"] is None
    assert got.attrs["arguments"]["crop"] is True
    fine_wide = np.pad(quarters(images[:8]), ((0, 0), (0, 0), (6, 6), (6, 6)))
    write_fits(tmp_path / "fine_wide", fine_wide, pixel_scale=PIXEL_SCALE / 2)
    assert predict(models["reg"], tmp_path / "fine_wide", "--crop", "--resize", "--output", tmp_path / "fine_wide.zarr") == 0
    got = xr.open_zarr(tmp_path / "fine_wide.zarr")
    np.testing.assert_allclose(got["y_pred"].values, original, rtol=1e-6, atol=1e-6)
    assert got.attrs["provenance"]["crop"] == {"pixels": 48.0, "centred": True, "resampled": True}


def test_a_store_gives_the_models_classes_unless_asked(models, small_store, tmp_path, capsys, saved_figures):
    """On its own dataset, `--split test` of a model of two of the store's three classes predicts
    the model's own test set, with a note of the images left out; `--all-classes` gives them all.
    Class numbers follow the model's order (vortex is 1 for the model, 2 in the store), and names
    are written beside them."""
    from deeplense.tasks import task_from_state

    ds = open_dataset(small_store)
    model = deeplense.load_model(models["cls2"])
    test = dataset_splits(ds, SPLIT)["test"]
    own = task_from_state(model.info.task_state).eval_indices(ds, test)  # what `deeplense evaluate` scores it on
    assert 0 < own.size < test.size
    out = tmp_path / "own.zarr"
    assert predict(models["cls2"], small_store, "--split", "test", "--output", out) == 0
    n_cdm = int((ds["label"].values[test] == 1).sum())
    assert f"note: left out {n_cdm} images of classes model cls2 does not have ({n_cdm} cdm); pass --all-classes" in capsys.readouterr().out
    got = xr.open_zarr(out)
    np.testing.assert_array_equal(got["id"].values, own)
    names = np.array(["no_sub", "cdm", "vortex"])[ds["label"].values[own]]
    np.testing.assert_array_equal(got["label_name"].values, names)
    np.testing.assert_array_equal(got["label"].values, np.where(names == "vortex", 1, 0))
    np.testing.assert_array_equal(got["predicted_class_name"].values, np.array(["no_sub", "vortex"])[got["predicted_class"].values])
    prov = got.attrs["provenance"]
    assert prov["input"]["classes"] == ["no_sub", "vortex"] and prov["input"]["left_out"] == {"cdm": n_cdm}
    assert prov["class_numbering"]["model_classes"] == ["no_sub", "vortex"] and prov["class_numbering"]["store_classes"] == ["no_sub", "cdm", "vortex"]
    every = tmp_path / "every.zarr"
    assert predict(models["cls2"], small_store, "--split", "test", "--all-classes", "--output", every) == 0
    got = xr.open_zarr(every)
    np.testing.assert_array_equal(got["id"].values, test)
    cdm = got["label_name"].values == "cdm"
    assert cdm.sum() == n_cdm and (got["label"].values[cdm] == -1).all()
    assert got.attrs["provenance"]["input"]["classes"] == "all"
    table = output.table(every)
    assert list(table.columns) == ["id", "p_no_sub", "p_vortex", "predicted_class", "predicted_class_name", "label", "label_name"]
    assert main(["prediction-figures", str(every), "--figures", str(tmp_path / "figures")]) == 0  # the report reads it back
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["score_distribution.png", "top_ranked.png"]
    true_class = dict(zip(table["id"], table["label_name"]))
    captions = [ax.get_xlabel().split("\n") for ax in saved_figures["top_ranked.png"].axes if ax.get_images()]
    assert captions and all(len(c) == 3 for c in captions)
    for image_id, truth, _ in captions:  # each image's id, then its true class from the store
        assert truth == f"true {true_class[int(image_id.removeprefix('id '))]}"
    histograms = saved_figures["score_distribution.png"].axes[0].patches
    assert len({tuple(h.get_edgecolor()) for h in histograms}) == len(histograms) == 3  # a colour per true class


def test_a_regressor_is_ranked_by_its_targets_not_the_true_labels():
    import pandas as pd

    from deeplense.predict.figures import ranking

    table = pd.DataFrame({"id": [0, 1], "theta_E": [1.0, 2.0], "sigma_theta_E": [0.1, 0.1], "label": [0, 1], "label_name": ["a", "b"]})
    assert ranking(table, None)[0] == "theta_E"
    with pytest.raises(ValueError, match="allowed: theta_E$"):
        ranking(table, "label")


def test_a_killed_run_resumes_with_the_blocks_not_yet_written(models, small_store, images, tmp_path):
    out = tmp_path / "killed.zarr"
    marker = tmp_path / "paused"
    cmd = [str(DEEPLENSE), "predict", str(models["cls"]), str(small_store), "--output", str(out), "--quiet", "--batch-size", "8",
           "--block", "8", "--workers", "1"]
    env = {**os.environ, PAUSE_VARIABLE: "predict.block_written", MARKER_VARIABLE: str(marker)}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the run never wrote a block"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI, its scheduler and its worker, at once
        proc.wait()
    assert not out.exists()
    written = zarr.open_group(str(output.partial_path(out)), mode="r")[output.WRITTEN][:]
    assert written.sum() == 1 and written.size == 5
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "1 of 5 blocks already written; computing the other 4" in rerun.stdout
    assert "4 of 5 blocks computed now" in rerun.stdout
    np.testing.assert_array_equal(xr.open_zarr(out)["probs"].values, deeplense.load_model(models["cls"]).predict(images, batch_size=8)["probs"])
    assert not output.partial_path(out).exists()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert "already holds these predictions" in again.stdout


@pytest.mark.determinism
def test_a_running_dask_scheduler_is_used_by_address(models, images, tmp_path):
    from distributed import LocalCluster

    np.save(tmp_path / "s.npy", images[:16])
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        assert predict(models["ae"], tmp_path / "s.npy", "--scheduler", cluster.scheduler_address, "--output", tmp_path / "s.zarr") == 0
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "s.zarr")["score"].values,
                                  deeplense.load_model(models["ae"]).predict(images[:16], batch_size=8)["score"])


@pytest.mark.determinism
def test_predict_runs_on_its_own_threads_whatever_the_callers(models, images):
    """The Python API predicts on the thread count the command line's workers use (pinned inside
    ``predict``, not by the caller), so the two compute the same way; the caller's torch setting
    is restored afterwards. CPU torch splits some reductions by thread, so 1 and 2 threads can
    differ in the last bit on some CPUs (AVX-512 kernels): more threads agree to float32 rounding."""
    import torch

    from deeplense.predict.model import PREDICT_THREADS

    def threads_seen(model) -> list[int]:
        seen: list[int] = []
        model.network.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
        return seen

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # as training leaves it (a model's default threads)
    try:
        default, faster = deeplense.load_model(models["cls"]), deeplense.load_model(models["cls"], threads=2)
        seen_default, seen_faster = threads_seen(default), threads_seen(faster)
        pinned = default.predict(images[:10], batch_size=8)["probs"]
        assert seen_default == [PREDICT_THREADS] * 2 and torch.get_num_threads() == 2
        torch.set_num_threads(1)
        np.testing.assert_allclose(faster.predict(images[:10], batch_size=8)["probs"], pinned, rtol=1e-5, atol=1e-6)
        assert seen_faster == [2, 2] and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads = 0: must be at least 1"):
        deeplense.load_model(models["cls"], threads=0)


def test_load_model_reports_what_it_expects(models):
    model = deeplense.load_model(models["cls"])
    assert model.image_shape == (1, 24, 24) and model.info.pixel_scale == PIXEL_SCALE and model.info.bands == ["band0"]
    assert [f.name for f in model.fields()] == ["probs", "predicted_class", "predicted_class_name"]
    assert [f.name for f in deeplense.load_model(models["reg"] / "checkpoint.pt").fields()] == ["y_pred", "y_sigma"]
    with pytest.raises(InputError, match="no checkpoint there"):
        deeplense.load_model(models["cls"].parent)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "nope", "dataset": "tiny"}, "predictions.p.model = 'nope': not a model; allowed: resnet18, vortex_length, anomaly_ae"),
        ({"model": "resnet18"}, "give exactly one of `dataset`"),
        ({"model": "resnet18", "dataset": "tiny", "input": ["x.npy"]}, "give exactly one of `dataset`"),
        ({"model": "resnet18", "input": "x.npy", "split": "test"}, "`split` selects samples of a `dataset`"),
        ({"model": "resnet18", "dataset": "nope"}, "predictions.p.dataset = 'nope': not a dataset; allowed: tiny"),
        ({"model": "resnet18", "dataset": "tiny", "rank_by": "wdm"}, "model resnet18 predicts no such value; did you mean 'cdm'? allowed: no_sub, cdm, vortex"),
        ({"model": "vortex_length", "dataset": "tiny", "rank_by": "mass"}, "allowed: vortex_length"),
        ({"model": "resnet18", "dataset": "tiny", "workers": 0}, "predictions.p.workers"),
        ({"model": "resnet18", "dataset": "tiny", "wokers": 2}, "predictions.p.wokers"),
    ],
)
def test_prediction_config_mistakes_name_the_field(entry, message):
    import copy

    import yaml

    from deeplense.config import ConfigError
    from deeplense.experiment import load_config
    from tests.conftest import TINY_CONFIG

    raw = copy.deepcopy(yaml.safe_load(TINY_CONFIG.read_text()))
    raw["predictions"] = {"p": entry}
    with pytest.raises(ConfigError) as e:
        load_config(raw, build_models=False)
    assert message in str(e.value), str(e.value)


def test_prediction_config_inputs_are_checked_as_predict_reads_them(tmp_path, monkeypatch):
    """An `input:` that `deeplense predict` would refuse by its paths alone is refused when the config
    loads, at `input[i]`, also where Snakemake's jobs load it (no model built); what it reads passes."""
    import copy

    import yaml

    from deeplense.config import ConfigError
    from deeplense.experiment import load_config
    from tests.conftest import TINY_CONFIG

    (tmp_path / "cutouts").mkdir()
    (tmp_path / "cutouts" / "a.fits").touch()
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").touch()
    np.save(tmp_path / "stack.npy", np.zeros((2, 32, 32), dtype=np.float32))
    for store in ("one.zarr", "two.zarr"):
        (tmp_path / store).mkdir()
        (tmp_path / store / "zarr.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    raw = copy.deepcopy(yaml.safe_load(TINY_CONFIG.read_text()))

    def problems(*inputs: str) -> str:
        raw["predictions"] = {"p": {"model": "resnet18", "input": list(inputs)}}
        try:
            load_config(raw, build_models=False)
        except ConfigError as e:
            return str(e)
        return ""

    for ok in (["cutouts"], ["cutouts/*.fits"], [str(tmp_path / "cutouts" / "a.fits")], ["stack.npy"], ["one.zarr"]):
        assert problems(*ok) == "", ok
    here = f"(relative paths are read from the working directory {tmp_path})"
    for inputs, expected in [
        (["cutouts", "survey/cutouts"], f"predictions.p.input[1] = 'survey/cutouts': does not exist {here}"),
        ([str(tmp_path / "none.fits")], f"predictions.p.input[0] = '{tmp_path / 'none.fits'}': does not exist\n"),
        (["survey/*.fits"], f"predictions.p.input[0] = 'survey/*.fits': the pattern matches no file {here}"),
        (["empty"], "predictions.p.input[0] = 'empty': a folder that is neither Zarr nor holds FITS files (.fits,"),
        (["*.txt"], "predictions.p.input[0] = '*.txt': notes.txt: unknown kind; allowed: a Zarr folder"),
        (["stack.npy", "cutouts"], "predictions.p.input = [stack.npy, cutouts]: inputs of different kinds (fits, npy)"),
        (["one.zarr", "two.zarr"], "predictions.p.input = [one.zarr, two.zarr]: give one Zarr input, not 2"),
    ]:
        assert expected in problems(*inputs) + "\n", problems(*inputs)


def test_workers_as_slurm_jobs_on_a_real_cluster(models, images, slurm_cluster, tmp_path):
    """`--cluster slurm`: dask-jobqueue submits the Dask workers through sbatch with the SLURM
    profile's settings (the partition and memory overridden as a site would), and they predict."""
    np.save(tmp_path / "s.npy", images[:24])
    out = tmp_path / "slurm.zarr"
    cmd = [str(DEEPLENSE), "predict", str(models["cls"]), str(tmp_path / "s.npy"), "--output", str(out), "--quiet",
           "--batch-size", "8", "--block", "8", "--cluster", "slurm", "--workers", "2", "--slurm-partition", slurm_cluster.partition,
           "--slurm-mem-mb", str(min(2000, slurm_cluster.mem_mb // 2)), "--slurm-runtime", "10"]
    env = {**os.environ, **slurm_cluster.env}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + slurm_cluster.logs()
    assert "3 of 3 blocks computed now" in run.stdout
    np.testing.assert_array_equal(xr.open_zarr(out)["probs"].values, deeplense.load_model(models["cls"]).predict(images[:24], batch_size=8)["probs"])
    listed = slurm_cluster.run("squeue", "--noheader", "--states=all", "--format=%j|%P|%C").stdout.split()
    assert sorted(line for line in listed if line.startswith("dask-worker|")) == [f"dask-worker|{slurm_cluster.partition}|1"] * 2, listed
    assert list((tmp_path / "slurm.zarr.logs").glob("dask-worker-*.err"))  # the jobs' own logs, beside the output


def test_prediction_config_passes_crop_resize_and_all_classes_to_the_command():
    from deeplense.predict.config import PredictionConfig

    entry = PredictionConfig(model="m", dataset="d", split="test", crop=True, resize=True, all_classes=True)
    assert entry.command_options() == ["--split", "test", "--batch-size", "128", "--resize", "--crop", "--all-classes"]
    assert PredictionConfig(model="m", input=["x.fits"]).command_options() == ["--batch-size", "128"]
