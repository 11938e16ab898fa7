"""One-line descriptions of the config behind a figure, for the report's captions (passed to the
rules as params, so a caption always names the config that produced its figure)."""

from __future__ import annotations

from deeplense.config import ExperimentConfig
from deeplense.tasks import TASKS


def model_summary(cfg: ExperimentConfig, model: str) -> str:
    """E.g. ``resnet18: architecture resnet18, task classification, trained on tiny for 1 epochs
    (batch 16, lr 0.001), seed 7, config hash sha256:1a2b3c4d5e6f``."""
    m = cfg.models[model]
    split = cfg.datasets[m.dataset].split.model_dump(mode="json")
    extra = TASKS.get(m.task).config_summary(m)
    return (
        f"{model}: architecture {m.architecture}, task {m.task}{extra}, trained on {m.dataset} for {m.epochs} epochs "
        f"(batch {m.batch_size}, lr {m.lr:g}, loss {m.loss_name or 'autoencoder objective'}), seed {cfg.seed}, "
        f"config hash {m.config_hash(cfg.seed, split)[:19]}"
    )


def figure_captions(cfg: ExperimentConfig, model: str) -> dict[str, str]:
    """Figure name -> report caption of every figure the evaluation of ``model`` draws (its task's)."""
    return dict(TASKS.get(cfg.models[model].task).figures)


def dataset_summary(cfg: ExperimentConfig, dataset: str) -> str:
    """E.g. ``tiny: instrument preset custom, 32×32 px at 0.16″/px, 1 band; classes no_sub (24 images), ...; seed 7``."""
    ds = cfg.datasets[dataset]
    inst = ds.instrument
    classes = ", ".join(f"{c.name} ({c.scenario}, {c.n_images} images)" for c in ds.classes)
    return (
        f"{dataset}: instrument preset {inst.preset}, {inst.num_pix}×{inst.num_pix} px at {inst.pixel_scale:g}″/px, "
        f"PSF FWHM {inst.psf_fwhm:g}″, {inst.num_bands} band(s); classes {classes}; seed {cfg.seed}"
    )
