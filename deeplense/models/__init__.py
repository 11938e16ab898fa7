"""Network architectures: timm's zoo by name plus deeplense-registered ones (torch and timm; never
lenstronomy). ``create_model`` is the one way in. Importing the package registers deeplense's own
architectures, as timm's ``models/__init__`` does: the registry itself imports none of them.
"""

from deeplense.models.registry import ARCHITECTURES, architecture_arguments, architecture_exists, create_model, register_architecture
from deeplense.models import autoencoders, cvt, equivariant, equivariant_transformer, fusion, ge_vit, group_pooled, moganet, xresnet  # noqa: E402,F401,I001  (register)
from deeplense.models.autoencoders import AnomalyModel

__all__ = ["ARCHITECTURES", "AnomalyModel", "architecture_arguments", "architecture_exists", "create_model", "register_architecture"]
