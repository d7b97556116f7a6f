"""Shared fixtures: where the real data lives, and a drawn test digit with checks on its reading."""

from pathlib import Path

import numpy as np
import pytest

from model.canvas import PAD_SIZE, draw_strokes, sketchpad_value
from model.examples import STROKES
from model.paths import SHARED_MNIST as MNIST_DIR, SHARED_STROKES as STROKES_DIR
from model.preprocess import to_mnist

# A hand-drawn "4" (pen strokes, y down), the shape people make on a pad.
FOUR = [[(60, 0), (0, 120), (100, 120)], [(80, 40), (80, 200)]]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST's .gz files are not in {MNIST_DIR}; this test needs the real data set")
    return MNIST_DIR


@pytest.fixture(scope="session")
def strokes_dir() -> Path:
    if not any(STROKES_DIR.glob("*.jsonl")):
        pytest.skip(f"no pen-stroke .jsonl files in {STROKES_DIR}; this test needs the human handwriting set")
    return STROKES_DIR


def drawn_four(height=200, centre=(160, 160), canvas_size=320, brush_radius=12) -> np.ndarray:
    """A black-on-white canvas with a "4" on it, uint8."""
    return draw_strokes(FOUR, height, centre, canvas_size, brush_radius)


def close_to_reference(image28) -> bool:
    """Whether a 28x28 input is, to within 0.03 on average, what `to_mnist` reads from the plain drawn four."""
    return image28 is not None and np.abs(image28 - to_mnist(drawn_four())).mean() < 0.03


def ink_extent(image28: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    """(height, width) of the box holding the pixels of a 28x28 input above `threshold`."""
    rows = np.flatnonzero((image28 > threshold).any(axis=1))
    cols = np.flatnonzero((image28 > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def drawn_number(digits: str, height: float = 150) -> dict:
    """The example digits side by side on the app's wide pad, as the pad sends them."""
    pad = np.full(PAD_SIZE[::-1], 255, np.uint8)
    for place, digit in enumerate(digits):
        pad = np.minimum(pad, draw_strokes(STROKES[int(digit)], height, (70 + place * 0.7 * height, 160), PAD_SIZE))
    return sketchpad_value(pad)
