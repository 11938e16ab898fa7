"""Registries: the one way to add a dark-matter model, instrument, architecture or task."""

import pytest

from deeplense.config import ConfigError
from deeplense.experiment import load_config
from deeplense.physics.instruments import INSTRUMENTS, register_instrument
from deeplense.registry import Registry


def test_names_are_sorted_items_keep_registration_order_and_unregister_removes():
    reg: Registry[int] = Registry("thing")
    for name, value in (("b", 2), ("a", 1), ("c", 3)):
        reg.register(name)(value)
    assert reg.names() == list(reg) == ["a", "b", "c"]
    assert reg.items() == [("b", 2), ("a", 1), ("c", 3)]
    assert reg.unregister("a") == 1 and "a" not in reg and reg.names() == ["b", "c"]


def test_duplicate_and_unknown_names_fail_clearly_and_keep_the_first():
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        reg.register("a")(2)
    assert reg.get("a") == 1
    with pytest.raises(KeyError, match="unknown thing 'b'; available: a"):
        reg.get("b")
    with pytest.raises(KeyError, match="unknown thing 'b'; available: a"):
        reg.unregister("b")


def _config(preset: str) -> dict:
    return {"datasets": {"d": {"instrument": {"preset": preset}, "classes": [{"name": "c", "scenario": "no_sub", "n_images": 2}]}}}


def test_a_registered_instrument_is_a_preset_the_config_accepts_and_applies():
    """Adding an instrument is one registered function: the config accepts its name at once and
    takes its values, and lists it among the allowed presets when a name is wrong."""
    with pytest.raises(ConfigError, match="unknown instrument preset") as before:
        load_config(_config("toy_telescope"))
    assert "allowed: " + ", ".join(INSTRUMENTS.names()) in str(before.value)

    @register_instrument("toy_telescope")
    def toy() -> dict:
        return {"num_pix": 24, "pixel_scale": 0.2}

    try:
        instrument = load_config(_config("toy_telescope")).datasets["d"].instrument
        assert (instrument.num_pix, instrument.pixel_scale) == (24, 0.2)
        with pytest.raises(ConfigError, match="allowed: .*, toy_telescope"):
            load_config(_config("toy_telescop"))
    finally:
        INSTRUMENTS.unregister("toy_telescope")
