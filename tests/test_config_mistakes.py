"""Every class of config mistake stops before the first job, through `deeplense check-config` and
through a Snakemake dry run alike, with one line a person can act on: the file, the field path as
the user wrote it, the bad value and what is allowed; no traceback, no results/ folder.

The mistakes are batched into a few configs based on tests/configs/tiny.yaml (each mistake in a
dataset or model of its own, so that each gives its own line), and each batch is checked once
through both routes; every mistake then asserts its own line in both outputs."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from deeplense.cli import main as deeplense_main
from deeplense.physics.scenarios import SCENARIOS
from deeplense.simulation.image import simulate_image

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


@dataclass(frozen=True)
class Mistake:
    id: str
    batch: str  # mistakes of one batch share a config
    edit: Callable[[dict], None]  # applied to that config
    expected: tuple[str, ...]  # the line's `path = value` and what is allowed


def in_dataset(id: str, edit: Callable[[dict], object], *expected: str) -> Mistake:
    """A mistake in a dataset of its own (named ``id``), a copy of the tiny one."""

    def add(cfg: dict) -> None:
        dataset = copy.deepcopy(TINY["datasets"]["tiny"])
        edit(dataset)
        cfg["datasets"][id] = dataset

    return Mistake(id, "datasets", add, tuple(f"datasets.{id}.{e}" if i == 0 else e for i, e in enumerate(expected)))


def in_model(id: str, fields: dict, *expected: str, batch: str = "models") -> Mistake:
    """A mistake in a model of its own (named ``id``) on the tiny dataset. A mistake in one model's
    own fields (batch "model_fields") hides those checked against the datasets (batch "models")."""

    def add(cfg: dict) -> None:
        cfg["models"][id] = {"architecture": "resnet18", "dataset": "tiny", "epochs": 1, **fields}

    return Mistake(id, batch, add, tuple(f"models.{id}.{e}" if i == 0 else e for i, e in enumerate(expected)))


def in_prediction(id: str, entry: dict, *expected: str) -> Mistake:
    """A mistake in a prediction set of its own (named ``id``). Predictions are checked once the
    datasets and models are valid: their own batch ("predictions")."""
    return Mistake(id, "predictions", lambda cfg: cfg["predictions"].update({id: entry}),
                   tuple(f"predictions.{id}.{e}" if i == 0 else e for i, e in enumerate(expected)))


def with_dataset(name: str, edit: Callable[[dict], object], model: dict) -> Callable[[dict], None]:
    """Add dataset ``name`` (a copy of the tiny one, edited) and a model ``on_<name>`` on it."""

    def add(cfg: dict) -> None:
        dataset = copy.deepcopy(TINY["datasets"]["tiny"])
        edit(dataset)
        cfg["datasets"][name] = dataset
        cfg["models"][f"on_{name}"] = {"architecture": "resnet18", "dataset": name, "epochs": 1, **model}

    return add


def lens(**kw) -> Callable[[dict], object]:
    """Edit the main lens (the tiny config's is the default: theta_E 1.2)."""
    return lambda d: d.setdefault("lens", {"theta_E": 1.2}).update(kw)


def sweep(name: str, parameter: str, values: list) -> Callable[[dict], None]:
    return lambda c: c.setdefault("sweeps", {}).update({name: {"dataset": "tiny", "parameter": parameter, "values": values, "models": ["resnet18"]}})


MISTAKES = [
    # misspelled fields, anywhere
    in_dataset("field_typo", lens(theta_e=1.2), "lens.theta_e = 1.2: unknown field; did you mean 'theta_E'?", "allowed: profile, theta_E, mass,"),
    in_dataset(
        "scenario_param_typo", lambda d: d["classes"][2]["params"].update(masss=1e10),
        "classes[2].params.masss = 10000000000.0: unknown field; did you mean 'mass'?", "allowed: n_vortices, n_points, mass, length",
    ),
    Mistake("top_level_typo", "top", lambda c: c.update(model={}), ("model = {}: unknown field; did you mean 'models'?", "allowed: seed, simulation, storage, datasets, models")),
    # numbers outside their parameter's domain, and distributions whose support leaves it
    in_dataset("exposure_zero", lambda d: d["instrument"].update(exposure_time=0), "instrument.exposure_time = 0: must be > 0"),
    in_dataset(
        "normal_on_positive", lambda d: d["instrument"].update(exposure_time={"dist": "normal", "mean": 1000, "sigma": 100}),
        "instrument.exposure_time = {dist: normal, mean: 1000, sigma: 100}: a normal distribution takes every value",
        "must be > 0; use {dist: truncated_normal, mean, sigma, low, high} with low and high > 0",
    ),
    in_dataset("uniform_reversed", lens(theta_E={"dist": "uniform", "low": 2, "high": 1}), "lens.theta_E.high = 1.0: must be above low (2)"),
    in_dataset(
        "log_uniform_from_zero", lambda d: d["instrument"].update(exposure_time={"dist": "log_uniform", "low": 0, "high": 10}),
        "instrument.exposure_time.low = 0: Input should be greater than 0",
    ),
    in_dataset(
        "uniform_leaves_domain", lambda d: d.setdefault("source", {}).update(q={"dist": "uniform", "low": 0.5, "high": 1.5}),
        "source.q = {dist: uniform, low: 0.5, high: 1.5}: uniform on [0.5, 1.5] reaches outside the allowed values: must be in (0, 1]",
    ),
    in_dataset("scenario_param_domain", lambda d: d["classes"][2]["params"].update(mass=-1e10), "classes[2].params.mass = -10000000000.0: must be > 0"),
    in_dataset("not_finite", lambda d: d.update(z_lens=float("nan")), "z_lens = nan: Input should be a finite number"),
    # a parameter that is neither a number nor a known distribution: only that form's error
    in_dataset(
        "unknown_distribution", lens(theta_E={"dist": "gauss", "mean": 1.2, "sigma": 0.1}),
        "lens.theta_E.dist = 'gauss': unknown distribution", "allowed: fixed, uniform, log_uniform, normal, truncated_normal",
    ),
    in_dataset("not_a_number", lens(theta_E="large"), "lens.theta_E = 'large': expected a number, or a distribution {dist: uniform, low, high}"),
    # choices
    in_dataset("unknown_scenario", lambda d: d["classes"][1].update(scenario="wimp"), "classes[1].scenario = 'wimp': unknown dark-matter scenario", "allowed: axion, cdm, no_sub"),
    in_dataset("unknown_preset", lambda d: d["instrument"].update(preset="jwst"), "instrument.preset = 'jwst': unknown instrument preset", "allowed: custom, deeplense_model_i"),
    in_dataset("missing_field", lambda d: d["classes"][0].pop("n_images"), "classes[0].n_images: Field required"),
    # fields that only make sense together
    in_dataset("theta_E_and_mass", lens(theta_E=1.2, mass=1e12), "lens.mass = 1000000000000.0: give exactly one of theta_E [arcsec] or mass [Msun], not both"),
    in_dataset(
        "ellipticity_modulus", lens(e1=0.8, e2={"dist": "uniform", "low": -0.7, "high": 0.7}),
        "lens.e1 = 0.8: with e2 the ellipticity modulus sqrt(e1² + e2²) can reach 1.06; it must stay below 1",
    ),
    in_dataset(
        "ring_outside_image", lambda d: d["instrument"].update(pixel_scale=0.02),
        "lens.theta_E = 1.2: an Einstein radius of up to 1.2″ puts the ring outside the image, which reaches 0.32″",
        "lower theta_E or enlarge num_pix or pixel_scale",
    ),
    in_dataset("redshifts", lambda d: d.update(z_lens=2.0), "z_lens = 2.0: must be below z_source (1)"),
    in_dataset("baryons", lambda d: d.update(cosmology={"Om0": 0.1, "Ob0": 0.2}), "cosmology.Ob0 = 0.2: must not exceed Om0 (0.1)"),
    in_dataset("split_sum", lambda d: d.update(split={"train": 0.8, "val": 0.1, "test": 0.2}), "split: train + val + test must be 1, got 1.1"),
    in_dataset("band_names", lambda d: d["instrument"].update(bands=[{"name": "g"}, {"name": "g"}]), "instrument.bands[1].name = 'g': band names must be unique"),
    in_dataset(
        "mass_bin", lambda d: d["classes"].append({"name": "sidm", "scenario": "sidm", "n_images": 4, "params": {"mass_ranges_subhalos": [[8, 6], [8, 10]]}}),
        "classes[3].params.mass_ranges_subhalos[0] = [8.0, 6.0]: a mass bin (log10 low, log10 high) needs low < high",
    ),
    Mistake(
        "blosc_level", "datasets", lambda c: c["storage"].update(codec="blosc_zstd", compression_level=15),
        ("storage.compression_level = 15: Blosc compresses at levels 1–9", "allowed: 1–9 with blosc_zstd, 1–22 with zstd"),
    ),
    # models: what the dataset records, what the architecture takes, what the task needs
    in_model(
        "target_not_recorded", {"task": "regression", "classes": ["vortex"], "targets": ["log10_m_axion"]},
        "targets[0] = 'log10_m_axion': no image of classes vortex of dataset tiny records it", "allowed: exposure_time,", "vortex_length",
    ),
    in_model(
        "architecture_args", {"architecture_args": {"depth": 3}},
        "architecture_args = {depth: 3}: cannot build resnet18 for 1×32×32 images", "does not take argument 'depth'; allowed: aa_layer,",
    ),
    in_model(
        "architecture_arg_value", {"architecture": "ge_vit", "architecture_args": {"group": "p6"}},
        "architecture_args = {group: p6}: cannot build ge_vit for 1×32×32 images", "group='p6' is not allowed; allowed: p4, p4m",
    ),
    in_model(
        "image_too_small", {"architecture": "vgg11", "dataset": "small16"},
        "architecture = 'vgg11': cannot build vgg11 for 1×16×16 images (bands × num_pix²) and 3 outputs (classification)", "Output size is too small",
    ),
    in_model(
        "not_an_autoencoder", {"task": "anomaly"},
        "architecture = 'resnet18': cannot build resnet18", "task anomaly needs an autoencoder (conv_ae, vae, aae",
    ),
    # posterior targets need a prior in the dataset config: a drawn, continuous distribution
    in_model(
        "posterior_fixed_target", {"task": "posterior", "classes": ["vortex"], "targets": ["vortex_length"]},
        "targets[0] = 'vortex_length': classes.vortex.params.length is fixed at 1: nothing to infer", "draw it from a distribution",
    ),
    in_model(
        "posterior_derived_target", {"task": "posterior", "classes": ["cdm"], "targets": ["n_halos"]},
        "targets[0] = 'n_halos': n_halos is not drawn from a distribution in the dataset config", "needs a configured prior",
    ),
    in_model(  # a record field of deeplense 0.8 names its new name
        "renamed_record_field", {"task": "regression", "classes": ["cdm"], "targets": ["sub_mass_total"]},
        "targets[0] = 'sub_mass_total'", "record field 'sub_mass_total' was renamed to 'halo_mass_total' in deeplense 0.9",
    ),
    in_model(
        "posterior_settings_elsewhere", {"task": "regression", "classes": ["vortex"], "targets": ["vortex_length"], "posterior": {"draws": 100}},
        "posterior = {", "is for task posterior, not regression", batch="model_fields",
    ),
    Mistake(
        "population_of_a_regressor", "population_task",
        lambda c: c.setdefault("populations", {}).update(pop={"model": "vortex_length", "parameter": "vortex_length"}),
        ("populations.pop.model = 'vortex_length': model vortex_length is a regression model", "stacks the per-lens posteriors of a `posterior` model"),
    ),
    Mistake(
        "population_parameter_not_the_target", "population_parameter",
        lambda c: c.setdefault("populations", {}).update(pop={"model": "source_x", "parameter": "source_center_y"}),
        ("populations.pop.parameter = 'source_center_y': model source_x infers ['source_center_x']", "targets: [source_center_y]"),
    ),
    in_model("architecture_typo", {"architecture": "resnet181"}, "architecture = 'resnet181': unknown architecture; did you mean 'resnet18'", "allowed: a timm model name", batch="model_fields"),
    in_model("loss_for_task", {"loss": "mse"}, "loss = 'mse': does not fit task classification", "allowed: cross_entropy", batch="model_fields"),
    in_model("unknown_dataset", {"dataset": "tyni"}, "dataset = 'tyni': not a dataset", "allowed: tiny"),
    in_model("one_class", {"classes": ["cdm"]}, "classes = [cdm]: classification needs at least 2 classes"),
    in_model("pretrained_missing", {"pretrained": "weights/none.pth"}, "pretrained = 'weights/none.pth': no such file", batch="model_fields"),
    in_model(
        "batch_of_one", {"batch_size": 1}, "batch_size = 1: Input should be greater than or equal to 2", batch="model_fields",
    ),
    in_model("device_name", {"device": "gpu"}, "device = 'gpu': unknown device", "allowed: auto, cpu, cuda, cuda:N", batch="model_fields"),
    in_model("precision_name", {"precision": "fp16"}, "precision = 'fp16'", "'auto', 'float32' or 'bfloat16'", batch="model_fields"),
    Mistake(
        "selected_on_training_data", "models",
        lambda c: (c["datasets"].update(no_val={**copy.deepcopy(TINY["datasets"]["tiny"]), "split": {"train": 0.8, "val": 0.0, "test": 0.2}}),
                   c["models"].update(on_no_val={"architecture": "resnet18", "dataset": "no_val", "epochs": 1, "early_stopping": 2})),
        ("datasets.no_val.split.val = 0.0: model on_no_val needs a validation split for checkpoint: best, early_stopping",
         "or set models.on_no_val.checkpoint: last without early_stopping or plateau"),
    ),
    # counts: what the split gives each class a model uses, and what a model on it may ask of it
    in_model(
        "train_images_over_split", {"train_images_per_class": 18},
        "train_images_per_class = 18: more than the training split holds; training images per class of dataset tiny (split.train 0.7): "
        "no_sub 17, cdm 17, vortex 17",
    ),
    in_model(
        "one_training_image", {"architecture": "conv_ae", "architecture_args": {"latent_dim": 8, "widths": [8, 16]}, "task": "anomaly",
                               "train_images_per_class": 1},
        "train_images_per_class = 1: one training image in all: a batch of one image is skipped", "so the model would never train",
    ),
    Mistake(
        "class_split_empty", "models", with_dataset("few", lambda d: d["classes"][0].update(n_images=2), {}),
        ("datasets.few.classes[0].n_images = 2: the split (train 0.7, val 0.15, test 0.15) gives this class 1 training, 0 validation "
         "and 1 test images; the models that use it need at least 1 training, 1 validation and 1 test images: give it at least 3 images",),
    ),
    Mistake(
        "normal_class_alone", "models",
        with_dataset("few_normal", lambda d: d["classes"][0].update(n_images=3),
                     {"architecture": "conv_ae", "architecture_args": {"latent_dim": 8, "widths": [8, 16]}, "task": "anomaly"}),
        ("datasets.few_normal.classes[0].n_images = 3: the split (train 0.7, val 0.15, test 0.15) gives this class 1 training, "
         "1 validation and 1 test images; the models that use it need at least 2 training, 1 validation and 1 test images "
         "(a model learns from it alone, and a batch of one image is skipped): give it at least 4 images",),
    ),
    in_model(
        "evaluated_on_other_images", {"evaluate_on": ["small16"]},
        "evaluate_on[0] = 'small16': dataset small16 has 1×16×16 images, tiny has 1×32×32 (bands × num_pix²)", "evaluation does not resample",
    ),
    Mistake(
        "evaluated_on_the_same_images", "models",
        lambda c: (with_dataset("bigger", lambda d: [cls.update(n_images=48) for cls in d["classes"]], {})(c),
                   c["models"]["resnet18"].update(evaluate_on=["bigger"])),
        ("models.resnet18.evaluate_on[0] = 'bigger': dataset bigger draws classes no_sub, cdm, vortex exactly as tiny does (the same "
         "recipe, so the same images, seeded by recipe): no domain shift to measure, and its test split can hold the model's training images",),
    ),
    # predictions: what they read must be there, and fit the model
    in_prediction(
        "input_missing", {"model": "resnet18", "input": ["survey/cutouts"]},
        "input[0] = 'survey/cutouts': does not exist (relative paths are read from the working directory ",
    ),
    in_prediction("input_glob_empty", {"model": "resnet18", "input": ["survey/*.fits"]}, "input[0] = 'survey/*.fits': the pattern matches no file"),
    in_prediction(
        "other_image_size", {"model": "resnet18", "dataset": "small16"},
        "dataset = 'small16': its images are 16×16 pixels; model resnet18 expects 1 band(s) of 32×32 pixels at 0.16″/pixel",
        "set resize: true to resample them",
    ),
    Mistake(
        "split_selects_nothing", "predictions",
        lambda c: (with_dataset("no_val", lambda d: d.update(split={"train": 0.8, "val": 0.0, "test": 0.2}), {"checkpoint": "last"})(c),
                   c["predictions"].update(empty_split={"model": "on_no_val", "dataset": "no_val", "split": "val"})),
        ("predictions.empty_split.split = 'val': selects no image: split by model on_no_val's fractions (train 0.8, val 0, test 0.2), "
         "dataset no_val has none in val",),
    ),
    # sweeps: told as the user wrote them, not as the generated datasets
    Mistake(
        "sweep_value", "sweeps", sweep("vmass", "classes.vortex.params.mass", [1e10, -2e10]),
        ("sweeps.vmass.values[1] = -20000000000.0: gives datasets.tiny.classes[2].params.mass = -20000000000.0: must be > 0",),
    ),
    Mistake(
        "sweep_parameter", "sweeps", sweep("vlen", "classes.vortex.params.lenght", [0.5, 1.0]),
        ("sweeps.vlen.parameter = 'classes.vortex.params.lenght': gives datasets.tiny.classes[2].params.lenght: unknown field; did you mean 'length'?",),
    ),
]


def batch_config(batch: str) -> dict:
    cfg = copy.deepcopy(TINY)
    if batch in ("models", "predictions"):  # a second, valid dataset of small images
        cfg["datasets"]["small16"] = {**copy.deepcopy(TINY["datasets"]["tiny"]), "instrument": {"num_pix": 16, "pixel_scale": 0.32, "psf_fwhm": 0.3}}
    for mistake in MISTAKES:
        if mistake.batch == batch:
            mistake.edit(cfg)
    return cfg


def snakemake_dry_run(config: Path, workdir: Path) -> subprocess.CompletedProcess:
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), "--dry-run", "--cores", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def check_config(config: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    capsys.readouterr()
    code = deeplense_main(["check-config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


_OUTPUTS: dict[str, tuple[Path, Path, int, str, subprocess.CompletedProcess]] = {}


@pytest.fixture
def outputs(tmp_path_factory, capsys):
    """(config file, workdir, check-config exit code and output, dry run) of a batch, made once."""

    def get(batch: str):
        if batch not in _OUTPUTS:
            root = tmp_path_factory.mktemp(batch)
            config = root / "bad.yaml"
            config.write_text(yaml.safe_dump(batch_config(batch), sort_keys=False))
            code, text = check_config(config, capsys)
            _OUTPUTS[batch] = (config, root / "work", code, text, snakemake_dry_run(config, root / "work"))
        return _OUTPUTS[batch]

    return get


def assert_refused(text: str, config: Path, expected: tuple[str, ...]) -> None:
    assert f"invalid config {config}" in text, text  # names the file
    line = next((ln for ln in text.splitlines() if expected[0] in ln), None)
    assert line is not None, f"{expected[0]!r} not in:\n{text}"
    for fragment in expected[1:]:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert "Traceback" not in text and "Value error" not in text and "Extra inputs" not in text, text
    assert "__" not in line, line  # never a sweep's generated names


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_mistake_stops_before_the_first_job(mistake, outputs):
    config, workdir, code, text, run = outputs(mistake.batch)
    assert code == 1
    assert_refused(text, config, mistake.expected)
    assert run.returncode == 1
    assert_refused(run.stderr, config, mistake.expected)
    assert not (workdir / "results").exists()


def test_each_batch_reports_only_its_mistakes(outputs):
    """One line per mistake: no other complaint, no config dump."""
    for batch in sorted({m.batch for m in MISTAKES}):
        config, _, _, text, run = outputs(batch)
        for out in (text, run.stderr):
            lines = [ln for ln in out.strip().splitlines() if ln.startswith("  ")]
            assert len(lines) == sum(m.batch == batch for m in MISTAKES), out
            assert all(len(ln) < 1200 for ln in lines), out


YAML_MISTAKES = {
    "syntax": ("seed: 7\ndatasets:\n  tiny: {instrument: {num_pix: 32}\n", "line 4, column 1: not valid YAML: expected ',' or '}'"),
    "repeated_key": ("seed: 7\nseed: 8\n", "line 2, column 1: not valid YAML: key 'seed' appears twice in one mapping (first on line 1)"),
}


@pytest.mark.parametrize("kind", YAML_MISTAKES)
def test_yaml_mistakes_name_the_file_and_line(kind, tmp_path, capsys):
    text, expected = YAML_MISTAKES[kind]
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    code, out = check_config(config, capsys)
    assert code == 1 and f"invalid config {config}, {expected}" in out and "Traceback" not in out, out
    # Snakemake reads a --configfile itself, before the workflow runs, and its message for a broken
    # one names no file; the default config.yaml of the working directory is read by the workflow.
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "config.yaml").write_text(text)
    run = subprocess.run(
        [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--dry-run", "--cores", "1"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 1 and f"invalid config config.yaml, {expected}" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not (workdir / "results").exists()
    if kind == "repeated_key":  # valid YAML for Snakemake, which keeps the last value: refused all the same
        run = snakemake_dry_run(config, tmp_path / "work2")
        assert run.returncode == 1 and f"invalid config {config}, {expected}" in run.stderr, run.stderr


CHEAP_PYHALO = {"log_mlow": 8.5, "cone_opening_angle_arcsec": 3.0, "LOS_normalization": 0.0}
RECIPES = [
    (name, {"recipe": r} if r else {}) for name in SCENARIOS for r in (getattr(SCENARIOS.get(name), "recipes", None) or [None])
]


@pytest.mark.parametrize(("scenario", "params"), RECIPES, ids=[f"{s}-{p.get('recipe', '')}" for s, p in RECIPES])
def test_declared_record_fields_are_what_an_image_records(scenario, params):
    """The fields a regression target is checked against are exactly those a simulated image of
    that scenario (and recipe) fills."""
    from deeplense.experiment import load_config

    pyhalo = scenario in ("wdm", "sidm") or params.get("recipe") == "pyhalo"
    raw = copy.deepcopy(TINY)
    raw["models"], raw["predictions"], raw["populations"] = {}, {}, {}
    raw["datasets"]["tiny"]["instrument"].update(num_pix=16, pixel_scale=0.32)
    raw["datasets"]["tiny"]["classes"] = [{"name": "c", "scenario": scenario, "n_images": 1, "params": {**params, **(CHEAP_PYHALO if pyhalo else {})}}]
    ds = load_config(raw).datasets["tiny"]
    record = simulate_image(ds, ds.classes[0], 12345).record
    assert sorted(record) == ds.record_fields(["c"])
