"""Network architectures: timm's zoo by name plus deeplense-registered ones. No lenstronomy here."""

from deeplense.models.registry import ARCHITECTURES, create_model, register_architecture

__all__ = ["ARCHITECTURES", "create_model", "register_architecture"]
