"""How a config mistake is explained: every problem names the field path as the user wrote it,
the bad value and what is allowed.

Validators raise :class:`FieldProblems` (a ``ValueError``, so pydantic keeps it in its error)
with paths relative to the model they check; :func:`problems_of` flattens a pydantic
``ValidationError`` into :class:`Problem` s with full paths; :class:`StrictModel` refuses unknown
fields naming the closest allowed one, as :func:`not_one_of` does for every name chosen from a list
(and :func:`problems_of` for a ``Literal`` or :class:`OneOf` value). Only pydantic and PyYAML
here: config validation stays fast.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError, model_validator
from pydantic_core import PydanticCustomError, core_schema

M = TypeVar("M", bound=BaseModel)

NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "<no value>"})()
UNKNOWN_FIELD = "unknown_field"


@dataclass(frozen=True)
class Problem:
    """One mistake: where (a path of field names and list indices), what is wrong, the value."""

    loc: tuple[str | int, ...]
    message: str
    value: Any = NO_VALUE
    kind: str = "value"  # pydantic's error type, or UNKNOWN_FIELD

    @property
    def where(self) -> str:
        return location(self.loc)

    def line(self) -> str:
        shown = show_value(self.value)
        return f"{self.where}{'' if shown is None else ' = ' + shown}: {self.message}"


class FieldProblems(ValueError):
    """Problems found by a validator, at paths relative to the model it validates."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.line() for p in problems))


def problem(message: str, *loc: str | int, value: Any = NO_VALUE) -> FieldProblems:
    """A single problem at field path ``loc`` (relative to the model being validated)."""
    return FieldProblems([Problem(tuple(loc), message, value)])


def location(loc: tuple[str | int, ...]) -> str:
    """``datasets.demo.classes[1].params.mass`` from its parts."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def show_value(value: Any) -> str | None:
    """The value as the user would write it (strings quoted, mappings and lists in YAML flow
    style); None when there is none, or when it is a whole section of the config (a long mapping:
    the field path says which)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if value is NO_VALUE:
        return None
    if isinstance(value, (dict, list)):
        try:
            text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20).strip()
        except yaml.YAMLError:
            text = repr(value)
    else:
        text = repr(value)
    if len(text) <= 120:
        return text
    return None if isinstance(value, dict) else text[:117] + "..."


def problems_of(errors: ValidationError | list[dict[str, Any]], prefix: tuple[str | int, ...] = ()) -> list[Problem]:
    """Flatten pydantic errors (and the FieldProblems raised inside validators) into problems
    with full paths."""
    if isinstance(errors, ValidationError):
        errors = errors.errors()
    out: list[Problem] = []
    for err in errors:
        loc = prefix + tuple(err["loc"])
        raised = (err.get("ctx") or {}).get("error")
        if isinstance(raised, FieldProblems):
            out += [Problem(loc + p.loc, p.message, p.value, p.kind) for p in raised.problems]
            continue
        value = NO_VALUE if err["type"] == "missing" else err.get("input", NO_VALUE)
        message = _literal_message(err) if err["type"] == "literal_error" else err["msg"].removeprefix("Value error, ")
        out.append(Problem(loc, message, value, err["type"]))
    return out


def nested(error: ValidationError | FieldProblems, *prefix: str | int) -> FieldProblems:
    """The problems of a nested validation, at paths under ``prefix``."""
    if isinstance(error, FieldProblems):
        return FieldProblems([Problem((*prefix, *p.loc), p.message, p.value, p.kind) for p in error.problems])
    return FieldProblems(problems_of(error, prefix))


def validate_at(model: type[M], data: Any, *prefix: str | int) -> M:
    """``model.model_validate(data)``, its problems reported at paths under ``prefix`` (a config section)."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise nested(e, *prefix) from None


def validate_entries(model: type[M], entries: dict[str, Any], section: str) -> tuple[dict[str, M], list[Problem]]:
    """Each named entry of a config section (``searches``, ``predictions``) validated as ``model``:
    the valid ones, and the problems of the others at paths ``section.<name>...``."""
    valid: dict[str, M] = {}
    problems: list[Problem] = []
    for name, raw in entries.items():
        try:
            valid[name] = validate_at(model, raw, section, name)
        except FieldProblems as e:
            problems += e.problems
    return valid, problems


@contextmanager
def collected(problems: list[Problem] | None) -> Iterator[None]:
    """The problems raised inside (``FieldProblems``) are added to ``problems``, so that the next
    entry of a section is checked too; raised as before when ``problems`` is None."""
    try:
        yield
    except FieldProblems as e:
        if problems is None:
            raise
        problems.extend(e.problems)


G = TypeVar("G")


def told_as_written(
    problems: list[Problem], origins: Mapping[tuple[str, str], tuple[str, G]], tell: Callable[[Problem, Problem, G], Problem]
) -> list[Problem]:
    """Problems found in the datasets and models that a config section generated (sweeps, learning
    curves), told as the user wrote that section: ``origins`` maps each generated (section, name)
    to its base's name and what generated it; a problem its base has too is dropped (it is reported
    there); any other is told by ``tell(problem, the problem as in the base, what generated it)``."""
    seen = {(p.loc, p.message) for p in problems}
    out = []
    for p in problems:
        origin = origins.get(tuple(p.loc[:2])) if len(p.loc) >= 2 else None  # type: ignore[arg-type]
        if origin is None:
            out.append(p)
            continue
        base, generated = origin
        in_base = Problem((p.loc[0], base, *p.loc[2:]), p.message, p.value, p.kind)
        if (in_base.loc, p.message) not in seen:
            out.append(tell(p, in_base, generated))
    return out


def did_you_mean(name: str, allowed: list[str], n: int = 1) -> str:
    """``"; did you mean 'theta_E'?"`` for the closest of ``allowed`` (by difflib, ignoring case), or ``""``."""
    lowered = {a.lower(): a for a in allowed}
    wanted = str(name).lower()
    close = difflib.get_close_matches(wanted, list(lowered), n=n, cutoff=0.6)
    close = close or [a for a in lowered if sorted(a) == sorted(wanted)][:n]  # transposed letters (tyni → tiny)
    return f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else ""


def not_one_of(what: str, name: Any, allowed: Sequence[str]) -> str:
    """``"unknown scenario; did you mean 'sidm'? allowed: axion, cdm, ..."``: the message of every
    name chosen from a list, ``what`` being what is wrong with it (the closest allowed name by difflib)."""
    names = [str(a) for a in allowed]
    return f"{what}{did_you_mean(name, names) or ';'} allowed: {', '.join(names) or 'none'}"


def unknown_field_message(name: str, allowed: list[str]) -> str:
    """'unknown field; did you mean 'theta_E'? allowed: ...'."""
    return not_one_of("unknown field", name, allowed)


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _literal_message(err: dict[str, Any]) -> str:
    """pydantic's message for a value outside a ``Literal`` (or :class:`OneOf`), with the closest
    allowed value suggested."""
    expected = _QUOTED.findall(str((err.get("ctx") or {}).get("expected", "")))
    value = err.get("input")
    hint = did_you_mean(value, expected) if isinstance(value, str) else ""
    return err["msg"] + hint


class StrictModel(BaseModel):
    """A config section: unknown fields are refused, naming the closest allowed field; NaN and
    infinity are refused wherever a number is expected."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _explain_unknown_fields(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as e:
            errors = e.errors()
            failed = {err["loc"][0] for err in errors if err["loc"]}
            independent = cls.independent_problems(data, failed) if isinstance(data, dict) and failed else []
            if not independent and not any(err["type"] == "extra_forbidden" and len(err["loc"]) == 1 for err in errors):
                raise
            allowed = list(cls.model_fields)
            problems = [
                Problem(p.loc, unknown_field_message(str(p.loc[0]), allowed), p.value, UNKNOWN_FIELD)
                if p.kind == "extra_forbidden" and len(p.loc) == 1
                else p
                for p in problems_of(errors)
            ]
            raise FieldProblems(problems + independent) from None

    @classmethod
    def independent_problems(cls, data: dict[str, Any], failed: set[str | int]) -> list[Problem]:
        """The checks across fields (normally run once every field is valid) that read none of the
        ``failed`` fields, run on ``data`` when other fields failed: so a mistake is reported in
        the same pass as those of unrelated fields. None by default."""
        return []


class OneOf:
    """``Annotated[str, OneOf(names)]``: a ``Literal`` whose values are ``names()``, read from a
    registry each time a value is validated and each time the JSON schema is exported, so an entry
    registered after the config module was imported (a new task) is allowed like the others.
    Errors and schema are pydantic's own for a ``Literal``."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self.names = names

    def _check(self, value: Any) -> str:
        allowed = list(self.names())
        if value not in allowed:
            expected = " or ".join(filter(None, [", ".join(map(repr, allowed[:-1])), repr(allowed[-1])])) if allowed else "nothing"
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"enum": list(self.names()), "type": "string"}
