"""The PyAutoLens backend: the convention mapping (pure numpy, here), the cross-checks against
lenstronomy (run in PyAutoLens's own environment, tests/autolens/check_crosscheck.py), and the
PyAutoLens Model A preset through the real workflow into a store that `regenerate --check` accepts.

PyAutoLens lives in .venv-autolens (`make autolens-env`). Under `make test`
(DEEPLENSE_REQUIRE_AUTOLENS=1) a missing environment fails these tests; run alone without it,
they are skipped with a message saying how to build it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from deeplense.config import ConfigError
from deeplense.experiment import load_config
from deeplense.physics.components import Component
from deeplense.simulation import autolens_mapping as mapping
from deeplense.workflow.plan import backend_pattern, dataset_backends, shard_job

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# ---- the mapping (no PyAutoLens needed) --------------------------------------------------------
@pytest.mark.parametrize("q, phi", [(0.7, 0.3), (0.5, 2.0), (0.95, -1.0)])
def test_ellipticity_components_are_swapped(q, phi):
    """lenstronomy e = ε(cos 2φ, sin 2φ); PyAutoLens ell_comps = ε(sin 2φ, cos 2φ) (its convert)."""
    eps = (1 - q) / (1 + q)
    e1, e2 = eps * math.cos(2 * phi), eps * math.sin(2 * phi)
    assert mapping.ell_comps(e1, e2) == pytest.approx((eps * math.sin(2 * phi), eps * math.cos(2 * phi)))
    assert mapping.e1e2(mapping.ell_comps(e1, e2)) == pytest.approx((e1, e2))
    assert mapping.axis_ratio(e1, e2) == pytest.approx(q)


def test_einstein_radius_normalisation():
    """Round lenses need no conversion; elliptical ones rescale by (1 + q)/(2 sqrt q) for the SIE."""
    assert mapping.einstein_radius(1.2, 0.0, 0.0) == pytest.approx(1.2)
    assert mapping.einstein_radius(1.2, 0.0, 0.0, gamma=2.4) == pytest.approx(1.2)
    q = mapping.axis_ratio(0.2, 0.0)
    assert mapping.einstein_radius(1.2, 0.2, 0.0) == pytest.approx(1.2 * (1 + q) / (2 * math.sqrt(q)))
    assert mapping.einstein_radius(1.2, 0.2, 0.0) > 1.2  # PyAutoLens's θ_E is larger for q < 1


def test_convergence_of_both_sie_conventions_is_the_same():
    """κ_lenstronomy = θ_E / (2 sqrt(q x² + y²/q)) equals κ_autolens = θ_E' q/(1+q) / sqrt(q² x² + y²)."""
    x, y = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-1.5, 1.7, 9))
    q, theta = 0.6, 1.3
    e1 = (1 - q) / (1 + q)
    kappa_lenstronomy = theta / (2 * np.sqrt(q * x**2 + y**2 / q))
    theta_a = mapping.einstein_radius(theta, e1, 0.0)
    kappa_autolens = theta_a * q / (1 + q) / np.sqrt(q**2 * x**2 + y**2)
    np.testing.assert_allclose(kappa_autolens, kappa_lenstronomy, rtol=1e-12)


def test_profiles_map_with_yx_centres_and_units():
    sie = mapping.mass_profile(Component("SIE", {"theta_E": 1.0, "e1": 0.1, "e2": -0.2, "center_x": 0.3, "center_y": -0.4}))
    assert sie.name == "Isothermal" and sie.kwargs["centre"] == (-0.4, 0.3) and sie.kwargs["ell_comps"] == (-0.2, 0.1)
    nfw = mapping.mass_profile(Component("TNFW", {"Rs": 0.2, "alpha_Rs": 0.1, "r_trunc": 2.0, "center_x": 0.0, "center_y": 0.0}))
    assert nfw.kwargs["kappa_s"] == pytest.approx(0.1 / (4 * 0.2 * (1 - math.log(2))))
    assert nfw.kwargs["truncation_radius"] == 2.0
    shear = mapping.mass_profile(Component("SHEAR", {"gamma1": 0.05, "gamma2": -0.01}))
    assert shear.kwargs == {"gamma_1": 0.05, "gamma_2": -0.01}
    light = mapping.light_profile(
        Component("SERSIC_ELLIPSE", {"amp": 3.0, "R_sersic": 0.5, "n_sersic": 2.5, "e1": 0.0, "e2": 0.1, "center_x": 1.0, "center_y": 2.0})
    )
    assert light.kwargs == {"centre": (2.0, 1.0), "ell_comps": (0.1, 0.0), "intensity": 3.0, "effective_radius": 0.5, "sersic_index": 2.5}
    assert mapping.lenstronomy_sersic_constant(1.0) == pytest.approx(1.6721)


def test_unsupported_profiles_are_named_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'ULDM'.*allowed: SIE"):
        mapping.mass_profile(Component("ULDM", {"kappa_0": 0.1, "theta_c": 0.5, "center_x": 0.0, "center_y": 0.0}))
    with pytest.raises(ValueError, match="ra_0 = 0.5"):
        mapping.mass_profile(Component("SHEAR", {"gamma1": 0.1, "gamma2": 0.0, "ra_0": 0.5}))


@pytest.mark.parametrize("fwhm, pixel", [(0.1, 0.1), (0.087, 0.05), (0.2355, 0.05), (0.16, 0.101)])
def test_psf_kernel_has_lenstronomys_size(fwhm, pixel):
    from lenstronomy.Data.psf import PSF

    kernel = PSF(psf_type="GAUSSIAN", fwhm=fwhm, pixel_size=pixel, truncation=5).kernel_point_source
    assert kernel.shape == (mapping.psf_kernel_pixels(fwhm, pixel),) * 2


def test_main_environment_never_imports_autolens():
    code = "import sys, deeplense.simulation.image, deeplense.cli; assert 'autolens' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- the config --------------------------------------------------------------------------------
def tiny_raw(backend: str | None = None, **source) -> dict:
    ds: dict = {"classes": [{"name": "a", "scenario": "no_sub", "n_images": 1}], "source": source}
    if backend is not None:
        ds["backend"] = backend
    return {"datasets": {"d": ds}}


def test_backend_defaults_to_lenstronomy_and_bad_values_are_named(tmp_path):
    assert load_config(tiny_raw()).datasets["d"].backend == "lenstronomy"
    with pytest.raises(ConfigError, match=r"datasets\.d\.backend = 'galfit'.*'lenstronomy' or 'autolens'"):
        load_config(tiny_raw("galfit"))
    np.save(tmp_path / "galaxies.npy", np.ones((1, 8, 8)))
    with pytest.raises(ConfigError, match="backend 'autolens'.*source.profile = 'INTERPOL'.*allowed.*SERSIC_ELLIPSE"):
        load_config(tiny_raw("autolens", profile="INTERPOL", images=str(tmp_path / "galaxies.npy")))
    raw = tiny_raw("autolens")
    raw["datasets"]["d"]["classes"] = [{"name": "w", "scenario": "wdm", "n_images": 1, "params": {"log_mc": 7.5}}]
    with pytest.raises(ConfigError, match=r"classes\[w\]\.params\.LOS_normalization = 1\.0.*allowed with autolens: 0"):
        load_config(raw)


def test_each_simulation_rule_claims_its_own_datasets():
    cfg = load_config({"datasets": {**tiny_raw("autolens")["datasets"], "e": tiny_raw()["datasets"]["d"]}})
    assert dataset_backends(cfg) == ["autolens", "lenstronomy"]
    keys = {name: [shard_job(cfg, name, c).key for c in ds.class_names] for name, ds in cfg.datasets.items()}
    assert backend_pattern(cfg, "autolens") == "|".join(sorted(keys["d"]))
    assert backend_pattern(cfg, "lenstronomy") == "|".join(sorted(keys["e"]))
    assert backend_pattern(load_config(tiny_raw()), "autolens") == "(?!)"  # matches nothing


def test_make_asks_the_config_which_backends_it_needs():
    """`make run` builds PyAutoLens's environment only when this prints `autolens`."""
    out = subprocess.run([str(BIN / "deeplense"), "backends", "--config", str(ROOT / "configs" / "presets" / "autolens_model_b.yaml")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["autolens"]
    out = subprocess.run([str(BIN / "deeplense"), "backends", "--config", str(ROOT / "config.yaml")], capture_output=True, text=True, check=True)
    assert "autolens" not in out.stdout.split()


# ---- PyAutoLens's environment -----------------------------------------------------------------
# the `autolens_deeplense` fixture (PyAutoLens's `deeplense`, never skipped under `make test`) is in conftest.py


def test_renderers_cross_check_in_the_autolens_environment(autolens_deeplense):
    """SIE + shear + Sérsic, + 25 point masses, + a vortex (and NFW, TNFW, EPL, SIS, lens light):
    images within 1% of the peak, deflections within 1e-6″ (tests/autolens/check_crosscheck.py)."""
    python = autolens_deeplense.with_name("python")
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "autolens" / "check_crosscheck.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


@pytest.fixture(scope="module")
def model_a_store(autolens_deeplense, tmp_path_factory) -> Path:
    """The PyAutoLens Model A preset, 2 images per class at 32×32, through the real Snakefile."""
    work = tmp_path_factory.mktemp("autolens_run")
    raw = yaml.safe_load((ROOT / "configs" / "presets" / "autolens_model_a.yaml").read_text())
    raw["simulation"]["shard_size"] = 2  # one shard per class
    ds = raw["datasets"]["model_a"]
    ds["instrument"].update(num_pix=32, pixel_scale=0.12)
    for cls in ds["classes"]:
        cls["n_images"] = 2
    config = work / "model_a.yaml"
    config.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "DEEPLENSE_AUTOLENS": str(autolens_deeplense), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(work), "--configfile", str(config),
           "--cores", "2", "results/datasets/model_a/dataset.zarr"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "simulate_shard_autolens" in run.stdout + run.stderr
    return work / "results" / "datasets" / "model_a" / "dataset.zarr"


def test_model_a_store_records_the_backend(model_a_store):
    ds = xr.open_zarr(model_a_store)
    assert ds.attrs["config"]["backend"] == "autolens"
    renderer = ds.attrs["renderer"]
    assert renderer["backend"] == "autolens" and renderer["autolens"].startswith("20")
    assert ds.sizes["sample"] == 6 and ds.attrs["classes"] == ["no_sub", "sphere", "vort"]
    assert np.isfinite(ds["image"].values).all()
    assert set(ds["n_halos"].values) == {0.0, 25.0}
    out = subprocess.run([str(BIN / "deeplense"), "inspect", str(model_a_store)], capture_output=True, text=True, check=True)
    assert f"renderer   backend autolens, autolens {renderer['autolens']}" in out.stdout


def test_regenerate_check_passes_for_autolens_stores(model_a_store):
    """The main environment's `deeplense regenerate` hands an autolens store to PyAutoLens's."""
    run = subprocess.run([str(BIN / "deeplense"), "regenerate", str(model_a_store), "5", "--check"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "identical to the stored one" in run.stdout
