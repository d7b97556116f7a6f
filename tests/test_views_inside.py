"""views/inside.py: the way in, the saliency maps and the layers, as pictures with captions."""

import re

import pytest

from bench.browser import CHROMIUM  # isort: skip  (turns Gradio's analytics off before app)
import app
from tests.conftest import drawn_four, drawn_number

assert CHROMIUM  # imported for its side effect


def count(html: str, css_class: str) -> int:
    return len(re.findall(rf'<img src="data:image/png;base64,[^"]+" alt="[^"]*" class="{css_class}"', html))


@pytest.mark.parametrize("network", sorted(app.classifiers))
def test_the_view_shows_the_way_in_a_saliency_map_and_every_layer(network):
    split, way_in, why, layers = app.inside.show(drawn_four(), network, None)
    assert split.count("<figure") >= 2  # one digit: its pieces, and its one crop
    assert count(way_in, "step") == 5
    for step in ("ink found", "cropped to the ink", "scaled: longer side 20 px", "centre of mass at the centre"):
        assert step in way_in
    assert count(why, "saliency") == 1 and "Why a 4?" in why
    expected_layers = {"cnn": 6, "mlp": 3, "numpy": 2}[network]
    assert count(layers, "layer") == expected_layers and "Output: one unit per digit" in layers


def test_picking_a_digit_adds_its_map():
    _, _, why, _ = app.inside.show(drawn_four(), "cnn", "7")
    assert count(why, "saliency") == 2 and "Why a 4?" in why and "Why (not) a 7?" in why
    _, _, why, _ = app.inside.show(drawn_four(), "cnn", "4")  # the top digit itself: one map
    assert count(why, "saliency") == 1


def test_nothing_drawn_clears_the_view():
    assert app.inside.show(None, "cnn", None) == ["", "", "", ""]


def test_a_number_is_shown_split_step_by_step():
    split = app.inside.show(drawn_number("2026")["composite"], "cnn", None)[0]
    assert "cuts tried" in split and split.count('class="crop"') == 4  # each digit's 28x28
    assert "The reading kept" in split

