"""Shared fixtures: where the real data lives, and a drawn test digit."""

from pathlib import Path

import numpy as np
import pytest

from model.canvas import draw_strokes
from model.paths import SHARED_MNIST as MNIST_DIR, SHARED_STROKES as STROKES_DIR

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
