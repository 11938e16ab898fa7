"""Network architectures: timm's zoo by name plus deeplense-registered ones. No lenstronomy here.

The registry (which imports torch and timm) loads on first use, so importing
``deeplense.models.catalog`` to validate a config stays fast.
"""

from typing import Any

__all__ = ["ARCHITECTURES", "AnomalyModel", "create_model", "register_architecture"]


def __getattr__(name: str) -> Any:
    if name == "AnomalyModel":
        from deeplense.models.autoencoders import AnomalyModel

        return AnomalyModel
    if name in __all__:
        from deeplense.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'deeplense.models' has no attribute {name!r}")
