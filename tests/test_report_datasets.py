"""The report's Datasets section: which parameters count as drawn, the gallery's per-image
captions and the parameter histograms, on a real store."""

from __future__ import annotations

import numpy as np

from deeplense.report.gallery import image_caption, plot_gallery
from deeplense.report.parameters import drawn_parameters, plot_parameter_histograms
from deeplense.storage.dataset_store import open_dataset
from tests.figures import legend_entries, saved_figures  # noqa: F401 (a fixture)


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
