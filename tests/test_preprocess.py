"""The MNIST recipe (model/preprocess.py): crop, 20 px, stroke width, centre of mass, and the teaching views."""

import numpy as np
import pytest
from PIL import Image

from model.canvas import sketchpad_value
from model.preprocess import BOX, CENTRE, MNIST_STROKE_WIDTHS, SIZE, centre_of_mass, naive_resize, stroke_width, to_mnist, trace
from tests.conftest import close_to_reference, drawn_four, ink_extent


@pytest.mark.parametrize("height, centre", [(200, (160, 160)), (80, (60, 250)), (290, (160, 165))])
def test_centre_of_mass_lands_at_the_centre(height, centre):
    image28 = to_mnist(drawn_four(height, centre))
    row, col = centre_of_mass(image28)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_longer_side_is_20_px():
    image28 = to_mnist(drawn_four())
    assert image28.shape == (SIZE, SIZE) and image28.dtype == np.float32
    assert 0.0 <= image28.min() and image28.max() <= 1.0
    # The 4x4 block averaging can put a faint edge into one more pixel.
    assert max(ink_extent(image28, threshold=0.2)) in (BOX, BOX + 1)


@pytest.mark.parametrize("normalize_stroke", [True, False])
def test_same_digit_at_other_places_and_sizes_gives_nearly_the_same_input(normalize_stroke):
    reference = to_mnist(drawn_four(200, (160, 160)), normalize_stroke=normalize_stroke)
    for height, centre in [(120, (70, 90)), (250, (170, 150)), (150, (230, 220))]:
        other = to_mnist(drawn_four(height, centre), normalize_stroke=normalize_stroke)
        assert np.abs(other - reference).mean() < 0.05


def test_stroke_width_is_normalised_for_small_and_large_drawings():
    # Same brush, digit 80 px vs 290 px tall: relative stroke width differs about 3.6x.
    small, large = to_mnist(drawn_four(80, (60, 60))), to_mnist(drawn_four(290, (160, 160)))
    as_drawn = [to_mnist(drawn_four(h, (160, 160)), normalize_stroke=False) for h in (80, 290)]

    def width(image28):  # measured the same way as on MNIST: at 4x resolution
        return stroke_width(np.kron(image28, np.ones((4, 4), np.float32))) / 4

    assert width(as_drawn[0]) / width(as_drawn[1]) > 2.0
    assert width(as_drawn[0]) > MNIST_STROKE_WIDTHS[1] and width(as_drawn[1]) < MNIST_STROKE_WIDTHS[0]
    thinnest, thickest = MNIST_STROKE_WIDTHS
    for image28 in (small, large):  # brought into MNIST's range (the 28 px grid blurs the measure a little)
        assert 0.85 * thinnest <= width(image28) <= 1.15 * thickest


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"background": None, "layers": [], "composite": None},  # an empty or cleared Sketchpad
        np.full((320, 320), 255, np.uint8),  # white canvas
        np.zeros((320, 320, 4), np.uint8),  # fully transparent
        np.full((5, 5, 3), 0.3, np.float32),  # uniform grey
        np.zeros((0, 0), np.uint8),
    ],
)
def test_blank_inputs_give_blank(value):
    assert to_mnist(value) is None


def test_specks_give_blank():
    canvas = np.full((800, 800), 255, np.uint8)
    canvas[100, 100] = canvas[400:402, 600:602] = canvas[700, 50] = 0  # dust
    assert to_mnist(canvas) is None
    dot = drawn_four(height=1)  # one tap of the brush: a round dot, not a digit
    assert to_mnist(dot) is None


def test_a_tiny_digit_on_a_huge_canvas_is_read():
    canvas = np.full((2000, 2000), 255, np.uint8)
    canvas[900:940, 1200:1240] = np.asarray(Image.fromarray(drawn_four()).resize((40, 40), Image.Resampling.BOX))
    assert to_mnist(canvas) is not None


def test_frames_are_taken_away():
    canvas = drawn_four().copy()
    canvas[:5], canvas[-5:], canvas[:, :5], canvas[:, -5:] = 0, 0, 0, 0  # a black frame at the edge
    assert close_to_reference(to_mnist(canvas))
    inset = drawn_four().copy()
    inset[8:12, 8:-8] = inset[-12:-8, 8:-8] = inset[8:-8, 8:12] = inset[8:-8, -12:-8] = 0
    assert close_to_reference(to_mnist(inset))


def test_a_7s_bar_near_the_top_is_not_a_frame():
    canvas = np.full((100, 100), 255, np.uint8)
    canvas[3:9, 5:95] = 0  # the bar, along the whole top
    canvas[9:97, 60:66] = 0  # the stem
    image28 = to_mnist(canvas)
    assert (image28 > 0.3).sum(axis=1).max() >= 15  # the bar is still there, 20 px across


# --- trace and naive_resize (the teaching views) -----------------------------------------------------


def test_trace_names_each_step_and_ends_with_to_mnists_answer():
    canvas = drawn_four()
    steps = trace(canvas)
    assert [name for name, _ in steps] == ["ink found", "cropped to the ink", "scaled: longer side 20 px",
                                           "stroke width into MNIST's range", "centre of mass at the centre"]
    for name, picture in steps:
        assert picture.dtype == np.float32 and 0 <= picture.min() and picture.max() <= 1, name
    assert steps[0][1].shape == canvas.shape
    assert max(steps[2][1].shape) == BOX * 4  # the longer side, at the 4x working resolution
    assert np.array_equal(steps[-1][1], to_mnist(canvas))
    assert trace(np.full((50, 50), 255, np.uint8)) is None and trace(None) is None


def test_naive_resize_squeezes_the_whole_canvas():
    canvas = drawn_four()
    naive = naive_resize(canvas)
    assert naive.shape == (SIZE, SIZE) and naive.dtype == np.float32
    expected = 1 - np.asarray(Image.fromarray(canvas).resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.float32) / 255
    assert np.allclose(naive, expected)
    assert np.allclose(naive_resize(sketchpad_value(canvas)), naive, atol=1 / 255)
    assert naive_resize(np.full((50, 50), 255, np.uint8)) is None and naive_resize(None) is None
