"""Class colours: one colour-blind-safe colour per class, the same class in the same colour in
every figure, and no two classes of a figure in colours too close to tell apart."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from matplotlib.colors import to_rgb

from deeplense.physics.scenarios import SCENARIOS
from deeplense.plots.style import CLASS_PALETTE, class_colours

MIN_DISTANCE = 0.3  # sRGB distance; Okabe–Ito's orange and vermillion, which read as one orange, are 0.26 apart


def assert_far_apart(colours: dict[str, str]) -> None:
    for (a, ca), (b, cb) in combinations(colours.items(), 2):
        distance = float(np.linalg.norm(np.subtract(to_rgb(ca), to_rgb(cb))))
        assert distance > MIN_DISTANCE, f"{a} {ca} and {b} {cb} are {distance:.2f} apart"


def test_every_scenario_gets_its_own_colour_wherever_it_appears():
    names = list(SCENARIOS)
    everyone = class_colours(names)
    assert len(set(everyone.values())) == len(names)
    assert_far_apart(everyone)
    demo = class_colours(["no_sub", "cdm", "wdm", "sidm", "vortex", "axion"])
    assert demo["cdm"] != demo["sidm"]
    three = class_colours(["sidm", "cdm", "axion"])  # another figure, other classes, other order
    assert all(three[c] == everyone[c] == demo.get(c, three[c]) for c in three)


def test_other_class_names_take_the_unused_colours():
    colours = class_colours(["cdm", "lenses", "no_lenses", "axion"])
    assert len(set(colours.values())) == 4 and set(colours.values()) <= set(CLASS_PALETTE)
    assert_far_apart(colours)
    assert_far_apart(dict(zip(range(len(CLASS_PALETTE)), CLASS_PALETTE)))
