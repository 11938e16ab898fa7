"""Parameter distributions named in the config (as in deeplenstronomy): a parameter is either a
number (fixed) or one of these, drawn from the image's own random stream."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def draw(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class _Bounded(_Dist):
    """A distribution on [low, high]: the bounds must be ordered."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "_Bounded":
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Fixed(_Dist):
    """Always ``value``."""

    dist: Literal["fixed"] = "fixed"
    value: float

    def draw(self, rng: np.random.Generator) -> float:
        return float(self.value)


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


Distribution = Annotated[
    Union[Fixed, Uniform, LogUniform, Normal, TruncNormal], Field(discriminator="dist")
]
# A physical parameter in the config: a plain number (fixed) or a named distribution.
Param = Union[float, Distribution]


def draw(param: Param, rng: np.random.Generator) -> float:
    """Value of ``param`` for one image: numbers are fixed, distributions are drawn."""
    if isinstance(param, (int, float)):
        return float(param)
    return param.draw(rng)
