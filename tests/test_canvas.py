import numpy as np

from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, draw_like_a_person, draw_strokes, sketchpad_value
from tests.conftest import FOUR


def test_strokes_are_drawn_at_the_asked_size_and_place_with_the_brush():
    canvas = draw_strokes(FOUR, height=200, centre=(100, 180))
    assert canvas.shape == (CANVAS_SIZE, CANVAS_SIZE) and canvas.dtype == np.uint8
    rows = np.flatnonzero((canvas < 128).any(axis=1))
    cols = np.flatnonzero((canvas < 128).any(axis=0))
    assert abs((rows[-1] - rows[0]) - (200 + 2 * BRUSH_RADIUS)) <= 2  # the brush adds its radius at each end
    assert abs((rows[0] + rows[-1]) / 2 - 180) <= 1 and abs((cols[0] + cols[-1]) / 2 - 100) <= 1
    # A vertical line is as wide as the brush.
    line = draw_strokes([[(0, 0), (0, 100)]], height=100, centre=(160, 160))
    assert abs((line[160] < 128).sum() - 2 * BRUSH_RADIUS) <= 1


def test_people_sized_drawings_always_fit_the_canvas():
    rng = np.random.default_rng(0)
    shapes = [FOUR, [[(0, 0), (500, 5)], [(0, 20), (500, 30)]], [[(0, 0), (1, 400)]]]  # tall, very wide, thin
    for _ in range(200):
        canvas = draw_like_a_person(shapes[rng.integers(3)], rng)
        ink = canvas < 128
        assert ink.any()
        assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any())  # nothing cut off


def test_sketchpad_value_has_gradios_shape():
    gray = draw_strokes(FOUR, 200, (160, 160))
    value = sketchpad_value(gray)
    assert set(value) == {"background", "layers", "composite"}
    composite = value["composite"]
    assert composite.shape == (CANVAS_SIZE, CANVAS_SIZE, 4) and (composite[..., 3] == 255).all()
    assert (composite[..., 0] == gray).all()
    assert (value["layers"][0][..., 3] == 255 - gray).all() and (value["background"] == 255).all()
