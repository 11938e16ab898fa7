"""Published DeepLense test figures, for orientation beside ours. They were measured on the
DeepLense groups' own simulations, splits and checkpoints, not on deeplense's data: they are
never ranked together with our rows.

Source: ../shared/PHYSICS.md §4 "Published results" (the DeepLense publications it summarises).
Each DeepLense dataset is matched to ours by instrument preset or by the dataset name of the
preset config that reproduces it (configs/presets/).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SOURCE = "DeepLense publications, as summarised in shared/PHYSICS.md §4"

# DeepLense dataset → (the instrument preset that reproduces its instrument, or None where the
# preset config sets the instrument field by field; the dataset name in configs/presets/).
PRESETS: dict[str, tuple[str | None, str]] = {
    "Model I": ("deeplense_model_i", "model_i"),
    "Model II": ("euclid_vis", "model_ii"),
    "Model III": ("hst_wfc3", "model_iii"),
    "Model A": (None, "model_a"),
    "Model B": (None, "model_b"),
}


@dataclass(frozen=True)
class PublishedValue:
    """One published test figure: on which DeepLense dataset, for which task, model and metric."""

    dataset: str
    task: str
    model: str
    metric: str
    value: float
    note: str = ""

    def matches(self, preset: str | None, dataset: str | None) -> bool:
        """Whether our dataset (its instrument preset and name) reproduces this DeepLense dataset."""
        instrument, name = PRESETS[self.dataset]
        return (preset is not None and preset == instrument) or (dataset is not None and dataset == name)

    def as_row(self) -> dict[str, object]:
        instrument, name = PRESETS[self.dataset]
        return asdict(self) | {"preset": f"{instrument or 'as configured'} / {name}", "source": SOURCE}


def _many(dataset: str, task: str, metric: str, values: dict[str, float], note: str = "") -> list[PublishedValue]:
    return [PublishedValue(dataset, task, model, metric, value, note) for model, value in values.items()]


PUBLISHED: tuple[PublishedValue, ...] = tuple(
    _many(
        "Model I", "classification", "auc_macro",
        {"CoAtNet-nano": 0.9955, "EfficientFormer-L3": 0.9948, "EfficientNet-B2": 0.9944, "CoaT-lite": 0.9893, "BoTNet": 0.9891,
         "EfficientNet-B1": 0.9889, "ViT": 0.9818, "CrossViT": 0.9333, "ConViT": 0.9229},
        "3 classes (no_sub, cdm, axion)",
    )
    + _many("Model II", "classification", "auc_macro", {"most models": 1.000}, "saturated: ≈ 1.000 for nearly every model")
    + _many("Model III", "classification", "auc_macro", {"most models": 1.000}, "saturated: ≈ 1.000 for nearly every model")
    + _many("Model A", "classification", "auc_micro", {"D8-equivariant": 0.9979, "C8-equivariant": 0.9984, "ResNet-18": 0.9942})
    + _many("Model B", "classification", "auc_micro", {"D8-equivariant": 0.9961, "C8-equivariant": 0.9950, "ResNet-18": 0.9848})
    + _many("Model B", "classification", "accuracy", {"equivariant, trained on Model A": 0.675}, "domain shift A → B without adaptation (0.971 on Model A)")
    + [
        v
        for dataset, values in {
            "Model I": {"XResNet18 hybrid": 0.2737, "ResNet34": 0.2849, "CvT-13": 0.2779, "ViT": 0.4420},
            "Model II": {"XResNet18 hybrid": 0.2209, "ResNet34": 0.2162, "CvT-13": 0.2548, "ViT": 0.2437},
            "Model III": {"XResNet18 hybrid": 0.1262, "ResNet34": 0.1332, "CvT-13": 0.1403, "ViT": 0.2175},
        }.items()
        for v in _many(dataset, "regression", "mae", values | {"constant predictor": 0.50}, "axion mass, axion class only, log10(m/eV)")
    ]
    + _many("Model A", "anomaly", "auc", {"AAE": 0.932, "VAE": 0.899, "conv AE": 0.730}, "trained on no_sub")
    + _many("Model B", "anomaly", "auc", {"AAE": 0.769, "VAE": 0.735}, "trained on no_sub")
    + _many("Model II", "anomaly", "auc", {"VAE": 0.9989, "AAE": 0.9951}, "trained on no_sub")
    + _many("Model III", "anomaly", "auc", {"VAE": 0.9987, "AAE": 0.9989}, "trained on no_sub")
)


def published_for(preset: str | None, task: str, dataset: str | None = None) -> list[PublishedValue]:
    """Published values for ``task`` on the DeepLense dataset that our dataset (instrument
    ``preset``, name ``dataset``) reproduces."""
    return [v for v in PUBLISHED if v.task == task and v.matches(preset, dataset)]
