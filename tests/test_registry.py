import pytest

from deeplense.registry import Registry


def test_register_and_get():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    assert reg.get("a") == 1 and "a" in reg and reg.names() == ["a"]


def test_duplicate_and_unknown_names_fail_clearly():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(2)
    with pytest.raises(KeyError, match="unknown thing 'b'; available: a"):
        reg.get("b")
