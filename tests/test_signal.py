"""The substructure-signal diagnostic: each image against the same system without substructure."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deeplense.cli import main
from deeplense.experiment import load_config
from deeplense.simulation.seeds import image_seed
from deeplense.simulation.signal import measure_dataset, measure_image, oracle_auc, summarize

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [image_seed(0, 0, i) for i in range(3)]  # any recipe key: the classes share these


def _config(classes: list[dict], **instrument) -> dict:
    """One 32×32 dataset ``signal`` with ``classes`` (3 images each) and ``instrument`` settings."""
    inst = {"num_pix": 32, "pixel_scale": 0.15, "psf_fwhm": 0.2, **instrument}
    return {"seed": 0, "datasets": {"signal": {"instrument": inst, "classes": [{"n_images": 3, **c} for c in classes]}}}


def _dataset(classes: list[dict], **instrument):
    return load_config(_config(classes, **instrument), build_models=False).datasets["signal"]


def _sphere(mass: float) -> dict:
    """One point mass of ``mass`` within 1.2″ of the lens centre (near the Einstein ring)."""
    return {"name": "sub", "scenario": "sphere", "params": {"n_points": 1, "mass": mass, "r_max": 1.2}}


def test_smooth_class_leaves_no_residual_and_substructure_does():
    cfg = load_config(_config([{"name": "no_sub", "scenario": "no_sub"}, {"name": "cdm", "scenario": "cdm", "params": {"n_subhalos": 5}}]), build_models=False)
    per_image = measure_dataset(cfg, "signal", 3, progress=False)
    smooth, cdm = (per_image[per_image["class"] == name] for name in ("no_sub", "cdm"))
    for quantity in ("residual_l2", "residual_peak", "chi2", "pixels_above_sigma"):
        assert (smooth[quantity] == 0).all(), quantity
    assert (cdm["residual_l2"] > 0).all() and (cdm["chi2"] > 0).all()
    assert (smooth["oracle_auc"] == 0.5).all() and cdm["oracle_auc"].between(0.5, 1.0, inclusive="neither").all()
    summary = summarize(per_image)
    assert list(summary["images"]) == [3, 3] and summary.loc[0, "chi2_p84"] == 0


def test_heavier_subhalo_is_more_detectable():
    light, heavy = _dataset([_sphere(1e9)]), _dataset([_sphere(1e10)])
    for seed in SEEDS:  # the same seed: the same position, lens and source; only the mass differs
        chi2_light = measure_image(light, light.classes[0], seed)["chi2"]
        chi2_heavy = measure_image(heavy, heavy.classes[0], seed)["chi2"]
        assert 0 < chi2_light < chi2_heavy


def test_chi2_scales_as_inverse_background_variance_when_background_dominates():
    """With an exposure so long that Poisson noise vanishes, σ is the background rms: doubling it
    divides χ² by four."""
    quiet, loud = (_dataset([_sphere(1e10)], exposure_time=1e12, background_rms=rms) for rms in (0.01, 0.02))
    for seed in SEEDS:
        ratio = measure_image(quiet, quiet.classes[0], seed)["chi2"] / measure_image(loud, loud.classes[0], seed)["chi2"]
        assert ratio == pytest.approx(4.0, rel=1e-6)


def test_oracle_auc_is_the_matched_filters_auc():
    """Monte Carlo: two known 16×16 images differing by R with χ² = 2, in Gaussian noise; the
    matched filter's empirical AUC over 2,000 noisy pairs matches Φ(√(χ²/2)) = 0.841."""
    rng = np.random.default_rng(0)
    sigma = rng.uniform(0.5, 2.0, (16, 16))
    residual = rng.normal(size=(16, 16)) * sigma
    residual *= np.sqrt(2.0 / ((residual / sigma) ** 2).sum())  # χ² = 2

    def statistic(mean):
        noisy = mean + rng.normal(size=(2000, 16, 16)) * sigma
        return (noisy * residual / sigma**2).sum(axis=(1, 2))

    without, with_ = statistic(0.0), statistic(residual)
    empirical = (with_[:, None] > without[None, :]).mean()
    assert oracle_auc(2.0) == pytest.approx(0.8413, abs=1e-4)
    assert empirical == pytest.approx(oracle_auc(2.0), abs=0.015)
    assert oracle_auc(0.0) == 0.5


def test_noiseless_instrument_has_residuals_but_no_chi2():
    ds = _dataset([_sphere(1e10)], noise=False)
    out = measure_image(ds, ds.classes[0], SEEDS[0])
    assert out["residual_l2"] > 0 and np.isnan(out["chi2"]) and np.isnan(out["pixels_above_sigma"])


def test_cli_prints_the_table_and_writes_the_csv(tmp_path, capsys):
    config = tmp_path / "signal.yaml"
    config.write_text(yaml.safe_dump(_config([{"name": "no_sub", "scenario": "no_sub"}, _sphere(1e10)])))
    assert main(["signal", str(config), "--images", "2", "--output", str(tmp_path / "signal.csv")]) == 0
    table = pd.read_csv(tmp_path / "signal.csv")
    assert list(table["class"]) == ["no_sub", "sub"] and list(table["images"]) == [2, 2]
    assert table.loc[0, "chi2_median"] == 0 and table.loc[1, "chi2_median"] > 0
    out = capsys.readouterr().out
    assert "| signal" in out and "χ²" in out


def test_cli_names_an_unknown_dataset_and_the_allowed_ones(tmp_path, capsys):
    config = tmp_path / "signal.yaml"
    config.write_text(yaml.safe_dump(_config([{"name": "no_sub", "scenario": "no_sub"}])))
    assert main(["signal", str(config), "--dataset", "modle_ii"]) == 2
    err = capsys.readouterr().err
    assert "'modle_ii'" in err and "allowed: signal" in err


def test_autolens_dataset_is_measured_in_its_own_environment(tmp_path, autolens_deeplense):
    """The PyAutoLens Model A preset at 32×32: the main environment hands the dataset to PyAutoLens's."""
    raw = yaml.safe_load((ROOT / "configs" / "presets" / "autolens_model_a.yaml").read_text())
    raw["datasets"]["model_a"]["instrument"].update(num_pix=32, pixel_scale=0.12)
    config = tmp_path / "model_a.yaml"
    config.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's sources in both environments, as the workflow does
    cmd = [sys.executable, "-m", "deeplense", "signal", str(config), "--images", "2", "--output", str(tmp_path / "a.csv")]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    table = pd.read_csv(tmp_path / "a.csv")
    assert list(table["class"]) == ["no_sub", "sphere", "vort"]
    assert table.loc[0, "chi2_median"] == 0 and (table.loc[1:, "residual_l2_median"] > 0).all()
    assert "| model_a" in run.stdout
