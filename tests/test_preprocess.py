import numpy as np
import pytest
from PIL import Image

from model.canvas import sketchpad_value
from model.preprocess import BOX, CENTRE, MNIST_STROKE_WIDTHS, SIZE, centre_of_mass, stroke_width, to_mnist
from tests.conftest import drawn_four


def ink_extent(image28: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((image28 > threshold).any(axis=1))
    cols = np.flatnonzero((image28 > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


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


def test_black_on_white_white_on_black_and_transparent_rgba_agree():
    canvas = drawn_four()
    black_on_white = to_mnist(canvas)
    white_on_black = to_mnist(255 - canvas)
    rgba = np.zeros(canvas.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - canvas  # black ink on a fully transparent background
    transparent = to_mnist(Image.fromarray(rgba, "RGBA"))
    from_sketchpad = to_mnist(sketchpad_value(canvas))
    for other in (white_on_black, transparent, from_sketchpad):
        assert np.abs(other - black_on_white).max() < 1e-5


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


def test_tiny_huge_and_odd_inputs_are_handled():
    assert to_mnist(np.zeros((1, 1), np.uint8)) is None
    assert to_mnist(Image.new("RGB", (1, 1), "white")) is None

    huge = np.full((6000, 6000), 255, np.uint8)
    huge[1000:5000, 2800:3200] = 0  # a "1"
    image28 = to_mnist(huge)
    assert image28 is not None and max(ink_extent(image28, 0.2)) in (BOX, BOX + 1)
    assert to_mnist(Image.fromarray(huge)) is not None

    canvas = drawn_four()
    reference = to_mnist(canvas)
    grey = Image.fromarray(canvas)
    odd = {
        "P": grey.convert("P"),
        "LA": grey.convert("LA"),
        "I;16": Image.fromarray(canvas.astype(np.uint16) * 257),
        "I": grey.convert("I"),
        "F": grey.convert("F"),
        "1": grey.convert("1"),
        "CMYK": grey.convert("CMYK"),
        "float array": canvas.astype(np.float32) / 255,
        "float 0-255": canvas.astype(np.float64),
        "bool array": canvas > 127,
        "H x W x 1": canvas[..., None],
        "H x W x 3": np.repeat(canvas[..., None], 3, axis=2),
    }
    for name, value in odd.items():
        image28 = to_mnist(value)
        assert image28 is not None, name
        assert np.abs(image28 - reference).mean() < 0.03, name


def test_rejects_what_is_not_an_image():
    with pytest.raises(ValueError):
        to_mnist(np.zeros((4, 4, 7), np.uint8))
