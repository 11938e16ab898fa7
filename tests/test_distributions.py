import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from deeplense.physics.distributions import Param, draw

PARAM = TypeAdapter(Param)


def sample(spec, n=20000, seed=0):
    p = PARAM.validate_python(spec)
    rng = np.random.default_rng(seed)
    return np.array([draw(p, rng) for _ in range(n)])


def test_fixed_number_and_fixed_dist():
    assert np.all(sample(1.5, 10) == 1.5)
    assert np.all(sample({"dist": "fixed", "value": 2.0}, 10) == 2.0)


def test_uniform_and_log_uniform_moments():
    u = sample({"dist": "uniform", "low": 1, "high": 3})
    assert u.min() >= 1 and u.max() < 3 and abs(u.mean() - 2) < 0.02
    lu = np.log10(sample({"dist": "log_uniform", "low": 1e-24, "high": 1e-22}))
    assert lu.min() >= -24 and lu.max() < -22 and abs(lu.mean() + 23) < 0.02


def test_normal_and_truncated_normal():
    n = sample({"dist": "normal", "mean": 1.0, "sigma": 0.5})
    assert abs(n.mean() - 1) < 0.02 and abs(n.std() - 0.5) < 0.02
    t = sample({"dist": "truncated_normal", "mean": 0.0, "sigma": 1.0, "low": 0.0, "high": 1.0})
    assert t.min() >= 0 and t.max() <= 1
    # mean of a standard normal truncated to [0, 1]: (φ(0) − φ(1)) / (Φ(1) − Φ(0)) ≈ 0.4599
    assert abs(t.mean() - 0.4599) < 0.01


@pytest.mark.parametrize(
    "spec",
    [{"dist": "uniform", "low": 2, "high": 1}, {"dist": "log_uniform", "low": 0, "high": 1}, {"dist": "gamma", "k": 1}],
)
def test_invalid_distributions_rejected(spec):
    with pytest.raises(ValidationError):
        PARAM.validate_python(spec)


def test_choice_draws_only_its_values_each_equally_often():
    c = sample({"dist": "choice", "values": [0.5, 0.7, 0.9]}, n=30000)
    values, counts = np.unique(c, return_counts=True)
    assert values.tolist() == [0.5, 0.7, 0.9]
    assert np.all(np.abs(counts / c.size - 1 / 3) < 0.01)
    assert PARAM.validate_python({"dist": "choice", "values": [2.0, -1.0]}).support() == (-1.0, 2.0)


@pytest.mark.parametrize("values", [[], [1.0, float("nan")]])
def test_choice_needs_finite_values(values):
    with pytest.raises(ValidationError, match="values"):
        PARAM.validate_python({"dist": "choice", "values": values})
