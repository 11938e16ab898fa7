"""Every preset config in configs/presets is a valid experiment that renders sensible images of
each of its classes; the Model I preset has the DeepLense signal-to-noise (≈ 25)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

from deeplense.experiment import load_config
from deeplense.physics.system import draw_system
from deeplense.simulation.image import render_bands, simulate_image
from deeplense.simulation.seeds import image_seed, image_streams, recipe_key

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "configs" / "presets").glob("*.yaml"))
# Cost knobs only: pyHalo at its defaults takes seconds per image (benchmarks/simulate.py).
CHEAP_PYHALO = {"log_mlow": 8.0, "cone_opening_angle_arcsec": 3.0, "LOS_normalization": 0.0}


def galaxy_folder(root: Path) -> Path:
    """Three made-up 'galaxies' (.npy, .png, .fits): exponential discs with a spiral arm."""
    import matplotlib.image
    from astropy.io import fits

    folder = root / "galaxies"
    folder.mkdir()
    yy, xx = np.mgrid[-32:32, -32:32] / 10.0
    r, phi = np.hypot(xx, yy), np.arctan2(yy, xx)
    for i, (kind, q) in enumerate((("npy", 1.0), ("png", 0.7), ("fits", 0.5))):
        disc = np.exp(-np.hypot(xx, yy / q)) * (1 + 0.5 * np.cos(2 * phi - 3 * r + i))
        if kind == "npy":
            np.save(folder / f"g{i}.npy", disc)
        elif kind == "png":
            matplotlib.image.imsave(folder / f"g{i}.png", disc, cmap="gray")
        else:
            fits.writeto(folder / f"g{i}.fits", disc)
    return folder


def preset_config(path: Path, tmp_path: Path):
    raw = yaml.safe_load(path.read_text())
    for ds in raw["datasets"].values():
        if ds.get("backend") == "autolens" and importlib.util.find_spec("autolens") is None:
            ds["backend"] = "lenstronomy"  # the same physics; tests/test_autolens.py renders it with PyAutoLens
        if ds["source"].get("profile") == "INTERPOL":
            ds["source"]["images"] = str(galaxy_folder(tmp_path))
        for cls in ds["classes"]:
            if cls.get("params", {}).get("recipe") == "pyhalo":
                cls["params"].update(CHEAP_PYHALO)
    return load_config(raw, str(path))


def test_all_presets_are_present():
    names = {p.stem for p in PRESETS}
    assert {"deeplense_model_i", "model_ii", "model_iii", "model_iv", "autolens_model_a", "autolens_model_b"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_renders_every_class(path, tmp_path):
    cfg = preset_config(path, tmp_path)
    (name,) = cfg.datasets
    ds = cfg.datasets[name]
    smooth = None
    seed = image_seed(cfg.seed, recipe_key(ds, ds.classes[0]), 0)  # one seed: the same lens and source
    for cls in ds.classes:
        sim = simulate_image(ds, cls, seed)
        assert sim.image.shape == ds.instrument.image_shape
        assert np.isfinite(sim.image).all() and sim.noiseless.min() >= 0
        assert sim.noiseless.max() > ds.instrument.background_rms, "source invisible"
        assert sim.record["snr"] > 10
        noise = sim.image - sim.noiseless
        assert 0.5 < noise.std() / ds.instrument.background_rms  # noise really added (Models II/III defect)
        if cls.scenario == "no_sub":
            smooth = sim.noiseless
        else:  # same seed → same lens and source: the difference is the substructure's
            assert smooth is not None and np.abs(sim.noiseless - smooth).max() > 1e-4 * smooth.max(), cls.name


def test_model_i_snr_is_25_on_average():
    cfg = load_config(ROOT / "configs" / "presets" / "deeplense_model_i.yaml")
    ds = cfg.datasets["model_i"]
    snr = [simulate_image(ds, c, image_seed(5, recipe_key(ds, c), i)).record["snr"] for c in ds.classes for i in range(20)]
    assert np.mean(snr) == pytest.approx(25.0, rel=0.10)


def test_model_iv_bands_follow_the_magnitudes(tmp_path):
    cfg = preset_config(ROOT / "configs" / "presets" / "model_iv.yaml", tmp_path)
    ds = cfg.datasets["model_iv"]
    system, record = draw_system(ds, ds.classes[0], image_streams(11))
    assert record["source_image_index"] in (0.0, 1.0, 2.0)
    bands = render_bands(system, ds)
    assert bands.shape == (3, 64, 64)
    # the same galaxy in every band, 3 and 4 magnitudes brighter than the first
    np.testing.assert_allclose(bands[1], 10 ** (0.4 * 3) * bands[0], rtol=1e-9)
    np.testing.assert_allclose(bands[2], 10 ** (0.4 * 4) * bands[0], rtol=1e-9)


REPRODUCE = sorted((ROOT / "configs" / "reproduce").glob("*.yaml"))


@pytest.mark.parametrize("path", REPRODUCE, ids=[p.stem for p in REPRODUCE])
def test_reproduction_configs_load_and_name_what_they_reproduce(path):
    """Each reproduction experiment is a valid config whose models name the published values."""
    cfg = load_config(path)
    written = yaml.safe_load(path.read_text())["models"]
    assert all(cfg.models[name].reproduces for name in written), path.stem


@pytest.mark.parametrize("path", [p for p in REPRODUCE if "model_ii" in p.stem], ids=lambda p: p.stem)
def test_as_published_differs_from_the_physical_preset_only_as_documented(path):
    """The as-published dataset is the physical preset with the original simulator's three
    differences: luminosity distances in θ_E(M), subhalo slope −0.9, no noise."""
    raw = yaml.safe_load(path.read_text())
    name = next(n for n in raw["datasets"] if not n.endswith("_as_published"))
    physical, published = raw["datasets"][name], raw["datasets"][f"{name}_as_published"]
    assert published["cosmology"].pop("mass_distances") == "luminosity_as_published"
    assert published["instrument"].pop("noise") is False
    assert published["classes"][1]["params"]["beta"] == -0.9 and physical["classes"][1]["params"]["beta"] == -1.9
    published["classes"][1]["params"]["beta"] = -1.9
    assert published == physical


PYLENSING = {  # configs/reproduce file -> its as-published datasets (PyLensing's recipe)
    "model_a.yaml": ("model_a_as_published", "model_b_as_published"),
    "model_a_cpu.yaml": ("model_a_as_published", "model_b_as_published"),
    "model_b.yaml": ("model_b_as_published",),
    "model_b_cpu.yaml": ("model_b_as_published",),
}


def _as_published(name: str, dataset: str) -> dict:
    return yaml.safe_load((ROOT / "configs" / "reproduce" / name).read_text())["datasets"][dataset]


@pytest.mark.parametrize("name", PYLENSING)
def test_model_a_and_b_as_published_follow_pylensing(name):
    """PyLensing (lensing/gen_params_*.py, gen_data_*.py with PyAutoLens 0.46): intensities per pixel
    (lens 1.2, source U(0.7, 0.9), against a sky of 0.1 per pixel), each uniform parameter one of five
    values drawn once per run, orientations in degrees (so within 2π° of the x axis), five vortex
    orientations, the vortex lines placed as PyLensing placed them."""
    pix2 = 0.05**2
    for dataset in PYLENSING[name]:
        ds = _as_published(name, dataset)
        assert ds["lens_light"]["amp"] * pix2 == pytest.approx(1.2)
        choices = {
            "lens_light.q": (ds["lens_light"]["q"], 0.5, 1.0), "source.q": (ds["source"]["q"], 0.7, 1.0),
            "source.amp": (ds["source"]["amp"], 0.7 / pix2, 0.9 / pix2),
            "lens.gamma_ext": (ds["lens"]["gamma_ext"], 0.0, 0.3),
            "source.r_offset": (ds["source"]["r_offset"], 0.0, 1.2),
            "source.phi_offset": (ds["source"]["phi_offset"], 0.0, 2 * np.pi),
            "vort.angle": (ds["classes"][2]["params"]["angle"], 0.0, 2 * np.pi),
        } | {
            angle: (value, 0.0, np.radians(2 * np.pi))  # degrees: PyLensing's radians read as degrees
            for angle, value in (("lens.psi_ext", ds["lens"]["psi_ext"]), ("lens_light.phi", ds["lens_light"]["phi"]), ("source.phi", ds["source"]["phi"]))
        }
        for field, (param, low, high) in choices.items():
            assert param["dist"] == "choice" and len(set(param["values"])) == 5, (dataset, field)
            assert low <= min(param["values"]) and max(param["values"]) <= high, (dataset, field)
        assert ds["classes"][2]["params"]["placement"] == "pylensing"
        assert [c.get("params", {}).get("mass") for c in ds["classes"]] == [None, 2.5e11, 2.5e11]
        assert ds["cosmology"]["mass_distances"] == "luminosity_as_published"


@pytest.mark.parametrize("dataset", ["model_a_as_published", "model_b_as_published"])
def test_each_pylensing_run_is_one_dataset_whatever_its_size(dataset):
    """One PyLensing run per dataset: every config's Model A (and every Model B) draws the same five
    values, and only the image counts and splits differ; Model B is another run, so other values."""
    versions = [_as_published(name, dataset) for name, datasets in PYLENSING.items() if dataset in datasets]
    for ds in versions:
        for cls in ds["classes"]:
            cls.pop("n_images")
        ds.pop("split")
    assert len(versions) >= 2 and all(ds == versions[0] for ds in versions)
    a, b = _as_published("model_a.yaml", "model_a_as_published"), _as_published("model_a.yaml", "model_b_as_published")
    assert a["lens"]["gamma_ext"] != b["lens"]["gamma_ext"]


def test_model_a_as_published_lens_light_is_pylensings_intensity_per_pixel():
    """PyAutoLens reads a profile's intensity per pixel: PyLensing's lens light of intensity 1.2 at
    R_eff is 1.2 counts/s in a pixel there, which the as-published amp (per arcsec²) reproduces."""
    from deeplense.simulation.lenstronomy_renderer import render_parts

    cfg = load_config(ROOT / "configs" / "reproduce" / "model_a_cpu.yaml")
    ds = cfg.datasets["model_a_as_published"]
    round_light = ds.model_copy(update={"lens_light": ds.lens_light.model_copy(update={"q": 1.0, "phi": 0.0})})
    system, _ = draw_system(round_light, ds.classes[0], image_streams(3))
    inst = ds.instrument
    _, light = render_parts(system, inst.num_pix, inst.pixel_scale, 1e-3, supersampling=4)  # before the PSF
    centres = (np.arange(inst.num_pix) - (inst.num_pix - 1) / 2) * inst.pixel_scale
    radius = np.hypot(*np.meshgrid(centres, centres))
    at_r_eff = np.abs(radius - ds.lens_light.R_sersic) < inst.pixel_scale / 4
    assert at_r_eff.sum() > 8
    assert light[at_r_eff].mean() == pytest.approx(1.2, rel=0.02)
