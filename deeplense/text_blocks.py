"""Where a generated block of the documentation (a quoted table, the record-fields table) first
differs from what the code or a record gives, for the error that asks to regenerate it."""

from __future__ import annotations


def first_difference(got: str, want: str) -> tuple[int, str, str]:
    """The first differing line of ``got`` and ``want`` (1-based) with its two versions; a line
    one of them lacks reads ``(missing)`` or ``(nothing)``."""
    old, new = got.splitlines(), want.splitlines()
    line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    return line + 1, old[line] if line < len(old) else "(missing)", new[line] if line < len(new) else "(nothing)"
