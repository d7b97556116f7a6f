"""Ink on paper (model/ink.py): dark or light, colour, alpha, lighting, and specks of dust."""

import numpy as np
from PIL import Image

from model.canvas import sketchpad_value
from model.preprocess import to_mnist
from tests.conftest import close_to_reference, drawn_four


def on_white(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


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


def test_alpha_is_the_drawing_only_when_the_picture_shows_nothing_on_white():
    canvas = drawn_four()
    opaque = np.dstack([on_white(canvas), np.full(canvas.shape, 255, np.uint8)])
    border = opaque.copy()
    border[0, :, 3] = border[-1, :, 3] = border[:, 0, 3] = border[:, -1, 3] = 0
    corner = opaque.copy()
    corner[:60, :60, 3] = 0
    uniform = opaque.copy()
    uniform[..., 3] = 200
    white_ink = np.dstack([np.full(canvas.shape + (3,), 255, np.uint8), 255 - canvas])  # only the alpha shows it
    for rgba in (border, corner, uniform, white_ink):
        assert close_to_reference(to_mnist(rgba))


def test_coloured_ink_is_read_by_its_colour():
    amount = (1 - drawn_four() / 255.0)[..., None]
    for ink, paper in (((230, 20, 20), (20, 40, 220)), ((255, 220, 0), (255, 255, 255))):  # red on blue, yellow on white
        rgb = np.round(np.array(paper) * (1 - amount) + np.array(ink) * amount).astype(np.uint8)
        assert close_to_reference(to_mnist(rgb))


def test_uneven_lighting_is_taken_away():
    y, x = (np.mgrid[0:320, 0:320] + 0.5) / 320
    for light in (0.35 + 0.6 * x, 1 - 1.2 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)):  # a gradient, a vignette
        photo = light * (0.1 + 0.9 * drawn_four() / 255.0)
        assert close_to_reference(to_mnist(photo.astype(np.float32)))


def test_a_sparse_field_of_equal_specks_gives_blank():
    # 40 specks, each under the share of ink a piece must hold: all of it is dust, nothing is left to crop to
    canvas = np.full((640, 640), 255, np.uint8)
    for i in range(8):
        for j in range(5):
            canvas[40 + 75 * i : 42 + 75 * i, 40 + 130 * j : 42 + 130 * j] = 0
    assert to_mnist(canvas) is None
