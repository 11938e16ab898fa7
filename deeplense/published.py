"""Published DeepLense test figures, for orientation beside ours. They were measured on the
DeepLense groups' own simulations, splits and checkpoints, not on deeplense's data: they are
never ranked together with our rows. Each value names the work it comes from (``REFERENCES``:
the papers, and the project folders of the ML4SCI/DeepLense repository; single runs without
error bars). Each DeepLense dataset is matched to ours by instrument preset or by the dataset
name of the preset config that reproduces it (configs/presets/).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

REPOSITORY = "https://github.com/ML4SCI/DeepLense/tree/main/"


@dataclass(frozen=True)
class Reference:
    """A work that published DeepLense figures: who, when, what, and where to read it."""

    authors: str
    year: str
    title: str
    url: str

    def citation(self) -> str:
        return f"{self.authors} ({self.year}), {self.title}, {self.url}"


REFERENCES: dict[str, Reference] = {
    "transformers": Reference(
        "A. Srivastava, ML4SCI DeepLense", "GSoC 2022", "Classification with vision transformers (Models I–III)",
        REPOSITORY + "DeepLense_Classification_Transformers_Archil_Srivastava",
    ),
    "equivariant": Reference(
        "A. Singh, ML4SCI DeepLense", "GSoC 2021", "Equivariant neural networks for DeepLense (Models A, B)",
        REPOSITORY + "Equivariant_Neural_Networks_for_DeepLense_Apoorva_Singh",
    ),
    "regression": Reference(
        "Y. Halychanskyi; Z. Guan, ML4SCI DeepLense", "GSoC 2021–2022", "Axion-mass regression (XResNet hybrid, ResNet, CvT, ViT)",
        REPOSITORY + "DeepLense_Regression_Yurii_Halychanskyi ; " + REPOSITORY + "DeepLense_Regression_Zhongchao_Guan",
    ),
    "pipeline": Reference(
        "S. K. Mahanta, ML4SCI DeepLense", "GSoC 2021", "Updating the DeepLense pipeline (anomaly detection, Models II, III)",
        REPOSITORY + "Updating_the_DeepLense_Pipeline__Saranga_K_Mahanta",
    ),
    "unsupervised": Reference(
        "S. Alexander, S. Gleyzer, H. Parul, P. Reddy, M. W. Toomey, E. Usai, R. Von Klar", "2021",
        "Decoding dark matter substructure without supervision", "https://arxiv.org/abs/2008.12731",
    ),
    "domain_adaptation": Reference(
        "S. Alexander, S. Gleyzer, P. Reddy, M. Tidball, M. W. Toomey", "2023",
        "Domain adaptation for simulation-based dark matter searches with strong gravitational lensing, ApJ",
        "https://doi.org/10.3847/1538-4357/acdfc7 (code: " + REPOSITORY + "Domain_Adaptation_for_DeepLense_Marcos_Tidball)",
    ),
    "morphology": Reference(
        "S. Alexander, S. Gleyzer, E. McDonough, M. W. Toomey, E. Usai", "2020",
        "Deep learning the morphology of dark matter substructure, ApJ 893, 15 (the Model A/B simulations)",
        "https://arxiv.org/abs/1909.07346",
    ),
}

# DeepLense dataset → its published training images per class and image side [px] (None where the
# source does not state it).
PUBLISHED_DATA: dict[str, tuple[int | None, int]] = {
    "Model I": (30000, 150),
    "Model II": (30000, 64),
    "Model III": (30000, 64),
    "Model A": (None, 150),
    "Model B": (None, 150),
}

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
    reference: str  # a key of REFERENCES
    note: str = ""

    @property
    def key(self) -> str:
        """How a model's config names it (``reproduces``): ``"Model III: XResNet18 hybrid"``."""
        return f"{self.dataset}: {self.model}"

    def matches(self, preset: str | None, dataset: str | None) -> bool:
        """Whether our dataset (its instrument preset and name) reproduces this DeepLense dataset."""
        instrument, name = PRESETS[self.dataset]
        return (preset is not None and preset == instrument) or (dataset is not None and dataset == name)

    def as_row(self) -> dict[str, object]:
        instrument, name = PRESETS[self.dataset]
        row = {k: v for k, v in asdict(self).items() if k != "reference"}
        return row | {"preset": f"{instrument or 'as configured'} / {name}", "source": REFERENCES[self.reference].citation()}


def _many(dataset: str, task: str, metric: str, values: dict[str, float], reference: str, note: str = "") -> list[PublishedValue]:
    return [PublishedValue(dataset, task, model, metric, value, reference, note) for model, value in values.items()]


PUBLISHED: tuple[PublishedValue, ...] = tuple(
    _many(
        "Model I", "classification", "auc_macro",
        {"CoAtNet-nano": 0.9955, "EfficientFormer-L3": 0.9948, "EfficientNet-B2": 0.9944, "CoaT-lite": 0.9893, "BoTNet": 0.9891,
         "EfficientNet-B1": 0.9889, "ViT": 0.9818, "CrossViT": 0.9333, "ConViT": 0.9229},
        "transformers", "3 classes (no_sub, cdm, axion)",
    )
    + _many("Model II", "classification", "auc_macro", {"most models": 1.000}, "transformers", "saturated: ≈ 1.000 for nearly every model")
    + _many("Model III", "classification", "auc_macro", {"most models": 1.000}, "transformers", "saturated: ≈ 1.000 for nearly every model")
    + _many("Model A", "classification", "auc_micro", {"D8-equivariant": 0.9979, "C8-equivariant": 0.9984, "ResNet-18": 0.9942}, "equivariant")
    + _many("Model B", "classification", "auc_micro", {"D8-equivariant": 0.9961, "C8-equivariant": 0.9950, "ResNet-18": 0.9848}, "equivariant")
    + _many(
        "Model B", "classification", "accuracy", {"equivariant, trained on Model A": 0.675}, "domain_adaptation",
        "domain shift A → B without adaptation (0.971 on Model A)",
    )
    + _many(
        "Model B", "classification", "auc_macro", {"equivariant, trained on Model A (AUROC)": 0.856}, "domain_adaptation",
        "domain shift A → B without adaptation; the paper's AUROC (its class averaging taken as macro)",
    )
    + [
        v
        for dataset, values in {
            "Model I": {"XResNet18 hybrid": 0.2737, "ResNet34": 0.2849, "CvT-13": 0.2779, "ViT": 0.4420},
            "Model II": {"XResNet18 hybrid": 0.2209, "ResNet34": 0.2162, "CvT-13": 0.2548, "ViT": 0.2437},
            "Model III": {"XResNet18 hybrid": 0.1262, "ResNet34": 0.1332, "CvT-13": 0.1403, "ViT": 0.2175},
        }.items()
        for v in _many(dataset, "regression", "mae", values | {"constant predictor": 0.50}, "regression", "axion mass, axion class only, log10(m/eV)")
    ]
    + _many("Model A", "anomaly", "auc", {"AAE": 0.932, "VAE": 0.899, "conv AE": 0.730}, "unsupervised", "trained on no_sub")
    + _many("Model B", "anomaly", "auc", {"AAE": 0.769, "VAE": 0.735}, "unsupervised", "trained on no_sub")
    + _many("Model II", "anomaly", "auc", {"VAE": 0.9989, "AAE": 0.9951}, "pipeline", "trained on no_sub")
    + _many("Model III", "anomaly", "auc", {"VAE": 0.9987, "AAE": 0.9989}, "pipeline", "trained on no_sub")
)


def published_for(preset: str | None, task: str, dataset: str | None = None) -> list[PublishedValue]:
    """Published values for ``task`` on the DeepLense dataset that our dataset (instrument
    ``preset``, name ``dataset``) reproduces."""
    return [v for v in PUBLISHED if v.task == task and v.matches(preset, dataset)]


def published_keys(task: str) -> list[str]:
    """The names (``"<DeepLense dataset>: <model>"``) of the published values of ``task``."""
    return [v.key for v in PUBLISHED if v.task == task]


def published_value(key: str, task: str) -> PublishedValue:
    """The published value ``key`` of ``task`` (see ``published_keys``)."""
    (value,) = [v for v in PUBLISHED if v.task == task and v.key == key]
    return value
