"""Arrays -> pictures on the page: inline PNGs, enlarged pixel by pixel.

Inline (a data: URL inside gr.HTML) rather than gr.Image: the picture arrives in the same
message as the rest of the answer, and no file is written to Gradio's cache per request.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image

# Red pushes towards the digit, blue away from it (a colour-blind-safe pair on white).
TOWARDS, AWAY = np.array([202, 0, 32], np.float32), np.array([5, 113, 176], np.float32)


def png_source(pixels: np.ndarray) -> str:
    """A data: URL holding `pixels` (H x W grey or H x W x 3 RGB, uint8) as a PNG."""
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, format="png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()


def enlarge(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Every pixel a scale x scale square, so that small pictures stay crisp at any zoom."""
    return np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)


def img(pixels: np.ndarray, alt: str, width: int, elem_class: str = "") -> str:
    """An <img> of `pixels` shown `width` CSS px wide (pixelated when scaled), shrinking with a narrow screen."""
    height = round(width * pixels.shape[0] / pixels.shape[1])
    return (f'<img src="{png_source(pixels)}" alt="{html.escape(alt)}" class="{elem_class}" width="{width}" height="{height}" '
            'style="max-width: 100%; height: auto; image-rendering: pixelated">')


def ink(image01: np.ndarray) -> np.ndarray:
    """A [0, 1] ink map as the network sees it: white ink on black, uint8."""
    return (np.clip(image01, 0, 1) * 255).round().astype(np.uint8)


def signed(attributions: np.ndarray) -> np.ndarray:
    """A signed map as RGB on white: red for positive, blue for negative, paler the nearer zero.

    Scaled by the largest magnitude, so that the strongest pixel is full colour whatever the units.
    """
    peak = float(np.abs(attributions).max()) or 1.0
    strength = (np.abs(attributions) / peak)[..., None]
    colour = np.where(attributions[..., None] >= 0, TOWARDS, AWAY)
    return (255 + strength * (colour - 255)).round().astype(np.uint8)


def tiles(maps: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """C x H x W maps side by side in rows of `columns`, on a grey grid; one brightness scale for all.

    One scale for the whole layer (its largest value is white) keeps the maps comparable:
    a dim map is a filter that found little, not one stretched to look busy.
    """
    count, height, width = maps.shape
    rows = -(-count // columns)
    peak = float(maps.max()) or 1.0
    sheet = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), 96, np.uint8)
    levels = ink(np.maximum(maps, 0) / peak)
    for index in range(count):
        top, left = gap + (index // columns) * (height + gap), gap + (index % columns) * (width + gap)
        sheet[top:top + height, left:left + width] = levels[index]
    return sheet


def units(values: np.ndarray, columns: int) -> np.ndarray:
    """A vector of units as a grid of squares, one square per unit (as tiles() with 1x1 maps)."""
    return tiles(np.asarray(values, np.float32).reshape(-1, 1, 1), columns)
