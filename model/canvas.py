"""The app's drawing surface, and drawing pen strokes onto it the way the Sketchpad does.

The canvas size and the brush live here, not in app.py, because the benchmark and the
tests must draw human pen strokes onto exactly the canvas people draw on in the app.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# The pad's height, and the side of the square one digit is drawn on in the benches and tests
# (a wider pad around it adds only blank paper, which the MNIST recipe crops away). 320 px keeps
# the browser's PNG export (most of the latency per stroke) short, while leaving room for a finger.
CANVAS_SIZE = 320
# The pad is twice as wide as high: room for a six-digit number at a comfortable size.
CANVAS_WIDTH = 2 * CANVAS_SIZE
PAD_SIZE = (CANVAS_WIDTH, CANVAS_SIZE)  # gr.Sketchpad(canvas_size=...): width, height
# gr.Brush(default_size=...) is a radius: the line is 16 px wide, 5 % of the pad. People draw
# anywhere from a third of the pad to all of it, and a fat line fills the small loops of a
# small digit for good (a 9 becomes a 3), while preprocessing thickens a thin line at no
# loss: on the drawn-digit bench (`python -m bench.drawn_digits`), a fatter line reads fewer
# digits, most of them looped 9s read as 3.
BRUSH_RADIUS = 8

Strokes = list[list[tuple[float, float]]]  # strokes -> points -> (x, y), y pointing down


def draw_strokes(
    strokes: Strokes,
    height: float,
    centre: tuple[float, float],
    canvas_size: int | tuple[int, int] = CANVAS_SIZE,
    brush_radius: float = BRUSH_RADIUS,
) -> np.ndarray:
    """Draw strokes in black on a white canvas, scaled to `height` px and centred at `centre`.

    Consecutive points are joined by straight segments with round joints, as the
    Sketchpad brush joins successive pointer positions. The canvas is a square of side
    `canvas_size`, or (width, height) such as PAD_SIZE. Returns it as H x W uint8.
    """
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = height / max(high[1] - low[1], 1.0)
    middle = (low + high) / 2
    canvas = Image.new("L", (canvas_size, canvas_size) if isinstance(canvas_size, int) else canvas_size, 255)
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        xy = [tuple((np.array(p) - middle) * scale + centre) for p in stroke]
        if len(xy) > 1:
            pen.line(xy, fill=0, width=round(2 * brush_radius))
        for x, y in xy:
            pen.ellipse((x - brush_radius, y - brush_radius, x + brush_radius, y + brush_radius), fill=0)
    return np.asarray(canvas)


def draw_like_a_person(
    strokes: Strokes, rng: np.random.Generator, canvas_size: int = CANVAS_SIZE, brush_radius: float = BRUSH_RADIUS
) -> np.ndarray:
    """Draw strokes at a size and place people pick on a square pad: small to large, often off-centre."""
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    extent = points.max(axis=0) - points.min(axis=0)
    aspect = extent[0] / max(extent[1], 1.0)  # width / height
    margin = brush_radius + 2
    height = rng.uniform(0.3, 0.9) * canvas_size
    height = min(height, (canvas_size - 2 * margin) / max(aspect, 1e-6))  # a wide digit must still fit
    height = min(height, canvas_size - 2 * margin)
    half = np.minimum(np.array([aspect * height, height]) / 2 + margin, canvas_size / 2)  # rounding must not invert the range
    centre = rng.uniform(half, canvas_size - half)
    return draw_strokes(strokes, height, tuple(centre), canvas_size, brush_radius)


def sketchpad_value(gray: np.ndarray) -> dict:
    """What a gr.Sketchpad callback receives for this drawing: an RGBA composite, white and opaque."""
    rgba = np.empty(gray.shape + (4,), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255
    layer = np.zeros_like(rgba)
    layer[..., 3] = 255 - gray
    background = np.full_like(rgba, 255)
    return {"background": background, "layers": [layer], "composite": rgba}
