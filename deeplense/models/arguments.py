"""Checks of ``architecture_args`` values inside a builder: a bad value fails naming the
architecture, the argument, the value and what is allowed (the config check shows the message)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deeplense.errors import DeeplenseError


class ArchitectureArgumentError(DeeplenseError):
    """An ``architecture_args`` value the architecture cannot take."""

    def __init__(self, architecture: str, argument: str, value: Any, allowed: str) -> None:
        super().__init__(f"{architecture}: architecture_args {argument}={value!r} is not allowed; allowed: {allowed}")
        self.architecture, self.argument, self.value = architecture, argument, value


def check_choice(architecture: str, argument: str, value: Any, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else an :class:`ArchitectureArgumentError`."""
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        raise ArchitectureArgumentError(architecture, argument, value, ", ".join(options))
    return value


def check_positive(architecture: str, argument: str, value: Any) -> int:
    """``value`` if it is an integer ≥ 1, else an :class:`ArchitectureArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArchitectureArgumentError(architecture, argument, value, "an integer ≥ 1")
    return value
