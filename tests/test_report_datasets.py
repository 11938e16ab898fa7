"""The report's Datasets section: which parameters count as drawn, the gallery's per-image
captions and the parameter histograms, on a real store."""

from __future__ import annotations

import numpy as np

from deeplense.report.gallery import image_caption, plot_gallery
from deeplense.report.parameters import drawn_parameters, log_axis, plot_parameter_histograms
from deeplense.storage.dataset_store import open_dataset
from tests.figures import legend_entries, saved_figures  # noqa: F401 (a fixture)
from tests.test_plots_style import assert_far_apart


def test_drawn_parameters_are_the_varying_record_fields(small_store):
    ds = open_dataset(small_store)
    drawn = drawn_parameters(ds)
    assert {"source_center_x", "source_center_y", "snr"} <= set(drawn)
    assert not {"label", "seed", "index_in_class", "source_amp", "shear_gamma1"} & set(drawn)  # bookkeeping and fixed values
    for name in drawn:
        values = ds[name].values.astype(float)
        per_class = [values[(ds["label"].values == c) & np.isfinite(values)] for c in range(3)]
        assert any(v.size > 1 and np.ptp(v) > 0 for v in per_class), name
    # which code computed a pyHalo image's halos varies with the halo count but is not physics
    paths = ds.assign(n_halos_fast=ds["snr"] * 100, n_halos_pyhalo=ds["snr"] * 0 + np.arange(ds.sizes["sample"]))
    assert drawn_parameters(paths) == drawn


def test_gallery_caption_shows_each_images_values(small_store, tmp_path, saved_figures):
    ds = open_dataset(small_store)
    rec = ds.isel(sample=[0, 1]).compute()
    caption = image_caption(rec, 1, ["source_center_x", "snr"])
    assert caption == f"source_center_x={rec['source_center_x'].values[1]:.3g}″\nsnr={rec['snr'].values[1]:.3g}"
    plot_gallery(small_store, tmp_path / "gallery.png", per_class=2)
    plot_parameter_histograms(small_store, tmp_path / "parameters.png")
    gallery = saved_figures["gallery.png"]
    shown = [ax for ax in gallery.axes if ax.get_images()]
    assert len(shown) == 3 * 2 and [ax.get_ylabel() for ax in shown[::2]] == ["no_sub", "cdm", "vortex"]
    first = ds["image"].values[np.flatnonzero(ds["label"].values == 0)[0], 0]
    np.testing.assert_array_equal(shown[0].get_images()[0].get_array(), first)  # the store's own pixels
    histograms = saved_figures["parameters.png"]
    assert legend_entries(histograms) == ["no_sub", "cdm", "vortex"]
    assert len([ax for ax in histograms.axes if ax.axison]) == len(drawn_parameters(ds))


def test_only_positive_quantities_spanning_decades_get_a_log_axis():
    rng = np.random.default_rng(0)
    angle = np.concatenate([[1e-3], rng.uniform(0, np.pi, 100)])  # spans > 3 decades, yet a period
    assert not log_axis(angle, "rad") and not log_axis(np.degrees(angle), "deg")
    assert log_axis(10 ** rng.uniform(6, 10, 100), "Msun")  # halo masses over four decades
    assert not log_axis(10 ** rng.uniform(10, 11, 100), "Msun")  # one decade reads better linear
    assert not log_axis(np.linspace(-0.3, 1e3, 50), "arcsec") and not log_axis(np.linspace(0, 1e4, 50), "count")  # ≤ 0 values


def test_parameter_histograms_draw_angles_linear_and_classes_apart(small_store, tmp_path, saved_figures):
    ds = open_dataset(small_store)
    vortex = ds["label"].values == 2
    wide = ds.copy()  # one vortex angle near 0: the angles span several decades, as in the demo store
    angle = wide["vortex_angle"].values.copy()
    angle[np.flatnonzero(vortex)[0]] = 1e-4
    wide["vortex_angle"] = ("sample", angle, ds["vortex_angle"].attrs)
    wide.to_zarr(tmp_path / "wide.zarr", mode="w")
    plot_parameter_histograms(tmp_path / "wide.zarr", tmp_path / "parameters.png")
    fig = saved_figures["parameters.png"]
    scales = {ax.get_xlabel(): ax.get_xscale() for ax in fig.axes if ax.axison}
    assert scales["vortex_angle [rad]"] == "linear"
    colours = {}
    for ax in fig.axes:
        for patch in ax.patches:
            colours.setdefault(patch.get_label(), set()).add(patch.get_edgecolor()[:3])
    assert all(len(c) == 1 for c in colours.values())  # a class keeps its colour in every panel
    assert_far_apart({name: next(iter(c)) for name, c in colours.items()})
