"""Parameter distributions named in the config (as in deeplenstronomy): a parameter is either a
number (fixed) or one of these, drawn from the image's own random stream.

A physical parameter may also have a :class:`Domain` (``param_in``): the values it can take
without breaking a later job or silently making garbage (an exposure time > 0, an axis ratio in
(0, 1]). A number must lie in it, and so must a distribution's whole support: a ``normal`` on a
positive-only parameter is refused, with a hint to use ``truncated_normal``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator

from deeplense.validation import StrictModel, nested, not_one_of, problem


class _Dist(StrictModel):
    model_config = StrictModel.model_config | {"frozen": True}

    def draw(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """The closed interval holding every value this distribution can draw."""
        return (self.low, self.high)  # type: ignore[attr-defined]


class _Bounded(_Dist):
    """A distribution on [low, high]: the bounds must be ordered."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "_Bounded":
        if not self.low < self.high:
            raise problem(f"must be above low ({self.low:g})", "high", value=self.high)
        return self


class Fixed(_Dist):
    """Always ``value``."""

    dist: Literal["fixed"] = "fixed"
    value: float

    def draw(self, rng: np.random.Generator) -> float:
        return float(self.value)

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)


class Uniform(_Bounded):
    """Uniform on [low, high)."""

    dist: Literal["uniform"] = "uniform"

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


class LogUniform(_Bounded):
    """log10 of the value uniform on [log10 low, log10 high): for masses, exposure times."""

    dist: Literal["log_uniform"] = "log_uniform"
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    def draw(self, rng: np.random.Generator) -> float:
        return float(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))


class Normal(_Dist):
    """Gaussian with ``mean`` and ``sigma``."""

    dist: Literal["normal"] = "normal"
    mean: float
    sigma: float = Field(gt=0)

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.sigma))

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)


class TruncNormal(_Bounded):
    """Gaussian truncated to [low, high]; drawn by inverse CDF so one uniform draw per value."""

    dist: Literal["truncated_normal"] = "truncated_normal"
    mean: float
    sigma: float = Field(gt=0)

    def draw(self, rng: np.random.Generator) -> float:
        from scipy import stats  # imported on first use: config validation stays fast

        a = (self.low - self.mean) / self.sigma
        b = (self.high - self.mean) / self.sigma
        return float(stats.truncnorm.ppf(rng.uniform(), a, b, loc=self.mean, scale=self.sigma))


class Choice(_Dist):
    """One of ``values``, each equally likely: a parameter that takes only a few values across a
    dataset, as in PyLensing (github.com/DeepLense-Unsupervised/PyLensing, lensing/get_params.py),
    which draws each uniform parameter's ``population`` values once per run and gives every image
    one of them."""

    dist: Literal["choice"] = "choice"
    values: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _finite(self) -> "Choice":
        bad = [v for v in self.values if not math.isfinite(v)]
        if bad:
            raise problem("must all be finite numbers", "values", value=bad[0])
        return self

    def draw(self, rng: np.random.Generator) -> float:
        return float(self.values[int(rng.integers(0, len(self.values)))])

    def support(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))


DISTRIBUTIONS: dict[str, type[_Dist]] = {
    cls.model_fields["dist"].default: cls for cls in (Fixed, Uniform, LogUniform, Normal, TruncNormal, Choice)
}
Distribution = Annotated[
    Union[Fixed, Uniform, LogUniform, Normal, TruncNormal, Choice], Field(discriminator="dist")
]
PARAM_HELP = (
    "a number, or a distribution {dist: uniform, low, high} | {dist: log_uniform, low, high} | "
    "{dist: normal, mean, sigma} | {dist: truncated_normal, mean, sigma, low, high} | {dist: choice, values}"
)


def _parse_param(value: Any) -> float | _Dist:
    """A number or a distribution; errors name only what is wrong with the form the user chose."""
    if isinstance(value, _Dist):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected {PARAM_HELP}") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return number
    if isinstance(value, dict):
        name = value.get("dist")
        if name not in DISTRIBUTIONS:
            raise problem(
                not_one_of("unknown distribution", name, list(DISTRIBUTIONS)) if "dist" in value
                else not_one_of("a distribution needs `dist`", "", list(DISTRIBUTIONS)),
                "dist", value=name if "dist" in value else None,
            )
        try:
            return DISTRIBUTIONS[name].model_validate(value)
        except ValidationError as e:
            raise nested(e) from None
    raise ValueError(f"expected {PARAM_HELP}")


# A physical parameter in the config: a plain number (fixed) or a named distribution.
# ``_parse_param`` picks the form first, so an error is about that form only (not every union branch).
Param = Annotated[Union[float, Distribution], BeforeValidator(_parse_param)]


def support(param: float | _Dist) -> tuple[float, float]:
    """The closed interval holding every value ``param`` can take."""
    return (float(param), float(param)) if isinstance(param, (int, float)) else param.support()


def largest_magnitude(param: float | _Dist) -> float:
    """The largest |value| ``param`` can take."""
    low, high = support(param)
    return max(abs(low), abs(high))


@dataclass(frozen=True)
class Domain:
    """The values a parameter may take: an interval, open or closed at each end."""

    low: float = -math.inf
    high: float = math.inf
    closed_low: bool = False
    closed_high: bool = False
    why: str = ""

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'≥' if self.closed_low else '>'} {self.low:g}"
        if self.low == -math.inf:
            return f"{'≤' if self.closed_high else '<'} {self.high:g}"
        return f"in {'[' if self.closed_low else '('}{self.low:g}, {self.high:g}{']' if self.closed_high else ')'}"

    def contains(self, x: float) -> bool:
        above = x >= self.low if self.closed_low else x > self.low
        below = x <= self.high if self.closed_high else x < self.high
        return above and below

    def check(self, param: float | _Dist) -> float | _Dist:
        """``param`` if every value it can take lies in the domain; else an error saying what is allowed."""
        low, high = support(param)
        if self.contains(low) and self.contains(high):
            return param
        why = f" ({self.why})" if self.why else ""
        if isinstance(param, Normal):
            raise ValueError(
                f"a normal distribution takes every value, but this parameter must be {self}{why}; "
                f"use {{dist: truncated_normal, mean, sigma, low, high}} with low and high {self}"
            )
        if isinstance(param, (int, float)) or low == high:
            raise ValueError(f"must be {self}{why}")
        raise ValueError(f"{param.dist} on [{low:g}, {high:g}] reaches outside the allowed values: must be {self}{why}")


def param_in(domain: Domain) -> Any:
    """The ``Param`` type of a parameter whose values must lie in ``domain``."""
    return Annotated[Param, AfterValidator(domain.check)]


POSITIVE = Domain(0.0)
NON_NEGATIVE = Domain(0.0, closed_low=True)
# Ellipticity and shear components: the modulus of the pair must stay below 1 as well.
UNIT_COMPONENT = Domain(-1.0, 1.0)
# Logarithms in the config: a guard against writing the value itself (3e8 for 8.5).
LOG10_MASS = Domain(0.0, 20.0, why="log10 of a mass in Msun: write 8.5 for 3e8 Msun")
PositiveParam = param_in(POSITIVE)
NonNegativeParam = param_in(NON_NEGATIVE)
ComponentParam = param_in(UNIT_COMPONENT)


def draw(param: float | _Dist, rng: np.random.Generator) -> float:
    """Value of ``param`` for one image: numbers are fixed, distributions are drawn."""
    if isinstance(param, (int, float)):
        return float(param)
    return param.draw(rng)
