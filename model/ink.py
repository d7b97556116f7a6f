"""Ink on paper: which pixels of a picture a person sees as the drawing.

`ink_map` compares each pixel with the picture's own paper: by colour distance when the
picture has colours, else by grey level against the paper level, which is one value on even
paper and a fitted surface under uneven lighting (a gradient, a vignette, a shadow). Dark on
light and light on dark read the same, and faint ink is brought to full strength. Alpha is
read as the picture looks on white paper. `without_specks` tells dust from a digit's pieces.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from model.picture import composite_over_white, luminance, pixels_within_limits, shrink

INK_THRESHOLD = 0.25  # a pixel is "ink" above this; lower values are anti-aliasing or noise
# Ink whose strongest pixel differs less than this from the paper is no drawing (paper texture,
# JPEG noise); a fainter drawing than full black is brought to full strength (`full_strength`).
FAINT_INK = 0.1
# Pieces of ink holding under this share of all the ink are specks of dust (`without_specks`).
SPECK_SHARE = 0.03

# The background (paper) is estimated on a copy at most this many px on its longer side, with
# a closing (max, then min filter for light paper) over (2 BACKGROUND_RADIUS + 1) cells: strokes
# up to about an eighth of the picture's side vanish from it, slow lighting changes stay. A
# wider window overestimates the dark corners of a vignette enough to read them as ink.
BACKGROUND_SIDE = 32
BACKGROUND_RADIUS = 2
# A background whose estimate varies by more than this (on a 0-1 scale) is uneven lighting:
# each pixel is then compared with the paper around it instead of one paper level.
UNEVEN_BACKGROUND = 0.12
# How far (on a 0-1 scale) the closed small copy may sit on the ink's side of the fitted paper
# surface and still be paper, not a blot: lighting bends smoothly, a blot is near full contrast.
PAPER_MISFIT = 0.25
# A picture is in colour when this share of its pixels have channels this far apart (0-1 scale);
# JPEG's colour noise on a grey picture stays below it.
COLOUR_SPREAD, COLOUR_SHARE = 0.2, 1e-3


def ink_map(image) -> np.ndarray | None:
    """H x W ink strength, ink high: uint8 (0-255) for 8-bit pictures, else float32 in [0, 1].

    8-bit pictures (every Sketchpad value, every PNG) stay uint8 until they are cropped,
    because converting a whole 800x800 RGBA canvas to floats would cost more than all the
    other steps together. Returns None for an empty value, or one too narrow to show a digit.

    What is ink: the picture as it looks on white paper, compared with its own paper (its
    background, estimated everywhere so that uneven lighting is flattened), by colour when it
    has colours. Only when that shows nothing (white ink on a transparent sheet, say) is the
    alpha channel the drawing.
    """
    pixels = pixels_within_limits(image)
    if pixels is None:
        return None
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        alpha = pixels[:, :, -1]
        if alpha.min() < (255 if alpha.dtype == np.uint8 else 1.0):  # anything transparent
            ink = colour_ink(composite_over_white(pixels))
            if has_ink(ink):
                return ink
            return grey_ink(np.ascontiguousarray(alpha))
    return colour_ink(pixels)


def has_ink(ink: np.ndarray) -> bool:
    """Whether any pixel of an ink map is strong enough to be ink."""
    return float(ink.max()) > INK_THRESHOLD * (255 if ink.dtype == np.uint8 else 1.0)


def ink_as_float(ink: np.ndarray) -> np.ndarray:
    """An ink map, or a part of one, as float32 in [0, 1], whichever of `ink_map`'s dtypes it has."""
    return ink.astype(np.float32) / 255 if ink.dtype == np.uint8 else ink.astype(np.float32)


# --- Ink by colour --------------------------------------------------------------------------


def colour_ink(pixels: np.ndarray) -> np.ndarray:
    """Ink of an opaque picture: by colour when it has colours, else by grey level."""
    if pixels.ndim == 3 and pixels.shape[2] >= 3 and in_colour(pixels):
        return colour_distance(pixels[:, :, :3])
    return grey_ink(luminance(pixels))


def in_colour(pixels: np.ndarray) -> bool:
    """Whether the picture has colours at all (a red 7 on blue paper), not only greys.

    Judged on every few pixels, about 100 per side: a stroke is wider than that step, and
    checking every pixel of an 800x800 canvas would cost more than the rest of the reading.
    """
    step = max(1, max(pixels.shape[:2]) // 100)
    red, green, blue = (pixels[::step, ::step, channel] for channel in range(3))
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    full = 255 if pixels.dtype == np.uint8 else 1.0
    return np.count_nonzero(spread > COLOUR_SPREAD * full) > COLOUR_SHARE * spread.size


def colour_distance(rgb: np.ndarray) -> np.ndarray:
    """Ink = how far each pixel's colour is from the paper's colour, 1 = as far as it can be.

    The paper's colour is the typical colour of a small copy. The distance is the largest
    channel difference, so red on blue, yellow on white and black on grey all count fully.
    """
    rgb = rgb.astype(np.float32) / 255 if rgb.dtype == np.uint8 else rgb
    paper = np.median(small_copy(rgb).reshape(-1, 3), axis=0)  # per channel
    farthest = float(np.maximum(paper, 1.0 - paper).max())
    ink = np.clip(np.abs(rgb - paper).max(axis=2) / max(farthest, 1e-3), 0.0, 1.0)
    return (ink * full_strength(float(ink.max()))).astype(np.float32)


def small_copy(pixels: np.ndarray) -> np.ndarray:
    """Block averages of a picture, at most BACKGROUND_SIDE px on its longer side, float32 in [0, 1]."""
    factor = -(-max(pixels.shape[:2]) // BACKGROUND_SIDE)
    if pixels.dtype == np.uint8 and pixels.ndim == 2 and factor > 1:
        small = Image.fromarray(np.ascontiguousarray(pixels)).reduce(
            (min(factor, pixels.shape[1]), min(factor, pixels.shape[0])))
        return np.asarray(small, np.float32) / 255
    small = shrink(pixels.astype(np.float32) / 255 if pixels.dtype == np.uint8 else pixels, BACKGROUND_SIDE)
    return small.astype(np.float32, copy=False)


# --- Ink by grey level, against the paper ------------------------------------------------------


def grey_ink(gray: np.ndarray) -> np.ndarray:
    """Ink = how far a pixel is from the paper (background) around it, on the ink's side of it.

    Dark ink on light paper and light ink on dark paper come out the same. The paper is
    estimated on a small copy of the picture with the strokes closed over (see
    `paper_level`); when it is even, one level serves for every pixel (a lookup table over
    the 256 levels for 8-bit pictures, applied in C), else each pixel is compared with the
    paper at its place, which flattens gradients and vignettes.
    """
    light, paper = paper_level(gray)
    if np.ndim(paper) == 0:
        paper = float(paper)
        levels = np.arange(256, dtype=np.float32) / 255 if gray.dtype == np.uint8 else gray
        ink = (paper - levels) / max(paper, 1e-3) if light else (levels - paper) / max(1.0 - paper, 1e-3)
        ink = np.clip(ink, 0.0, 1.0)
        if gray.dtype == np.uint8:
            darkest = int(gray.min()) if light else int(gray.max())  # the strongest ink, read off the table
            ink = ink * full_strength(float(ink[darkest]))
            table = np.round(ink * 255).astype(np.uint8).tolist()
            return np.asarray(Image.fromarray(np.ascontiguousarray(gray)).point(table))
        return (ink * full_strength(float(ink.max()))).astype(np.float32)
    height, width = gray.shape
    paper = np.asarray(Image.fromarray(paper, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    gray = gray.astype(np.float32) / 255 if gray.dtype == np.uint8 else gray
    ink = (paper - gray) / np.maximum(paper, 1e-3) if light else (gray - paper) / np.maximum(1.0 - paper, 1e-3)
    ink = np.clip(ink, 0.0, 1.0)
    return (ink * full_strength(float(ink.max()))).astype(np.float32)


def full_strength(strongest: float) -> float:
    """The factor that brings the strongest ink to 1: a pale pencil line or a drawing at alpha 60
    is the same digit as a black one. Ink weaker than FAINT_INK is paper texture or JPEG noise,
    and is left as it is."""
    return 1.0 / strongest if strongest >= FAINT_INK else 1.0


def paper_level(gray: np.ndarray) -> tuple[bool, float | np.ndarray]:
    """(is the paper light?, its level): one float for even paper, a small map for uneven paper.

    A grey-level closing (max filter, then min filter, for light paper; the reverse for dark)
    on a small copy removes the strokes and keeps the paper; a frame at the picture's edge
    is a stroke like any other. Lighting (a gradient, a vignette) varies smoothly, so the
    uneven paper is then a quadratic surface fitted to the closed copy, leaving out what a
    closing cannot remove (a big blot): a closing alone overestimates a vignette's corners.
    """
    small = small_copy(gray)
    light = middle(small) >= 0.5
    first, second = (np.maximum, np.minimum) if light else (np.minimum, np.maximum)
    closed = extreme_filter(extreme_filter(small, BACKGROUND_RADIUS, first), BACKGROUND_RADIUS, second)
    if float(closed.max() - closed.min()) <= UNEVEN_BACKGROUND:
        return light, middle(closed)
    height, width = closed.shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = (y.ravel() + 0.5) / height - 0.5, (x.ravel() + 0.5) / width - 0.5
    terms = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    values, keep = closed.ravel(), np.ones(closed.size, bool)
    for _ in range(3):  # refit without the cells far on the ink's side of the surface
        coefficients = np.linalg.lstsq(terms[keep], values[keep], rcond=None)[0]
        residual = (values - terms @ coefficients) * (1 if light else -1)
        keep = residual > -max(0.03, 3 * float(np.median(np.abs(residual))))
    surface = np.clip(terms @ coefficients, 0.0, 1.0).reshape(height, width)
    if float(surface.max() - surface.min()) <= UNEVEN_BACKGROUND:  # the closing only kept a blot
        return light, middle(surface)
    # A quadratic cannot follow a spotlight's bump: around it the surface passes the paper on the
    # ink's side, and that band would read as faint ink. Where the closed copy is only a little
    # on the ink's side of the surface, it is paper, and it is the better estimate; far on that
    # side it is a blot the closing kept, and the surface stays.
    gap = (surface - closed) if light else (closed - surface)
    surface = np.where((gap > 0) & (gap < PAPER_MISFIT), closed, surface)
    return light, np.ascontiguousarray(surface, dtype=np.float32)


def middle(values: np.ndarray) -> float:
    """The median of a small array (np.median's checks cost more than the work on 1000 values)."""
    flat = values.ravel()
    return float(np.partition(flat, flat.size // 2)[flat.size // 2])


def extreme_filter(image: np.ndarray, radius: int, extreme) -> np.ndarray:
    """Max or min over a (2 radius + 1) square around each pixel, edges repeated.

    Written here because it runs on a picture of at most 32x32 px: a few shifted copies are
    enough, and scipy would be a dependency for this one filter.
    """
    window = 2 * radius + 1
    height, width = image.shape
    # Edge padding by index (np.pad costs more than the whole filter on a picture this small).
    padded = image[np.clip(np.arange(-radius, height + radius), 0, height - 1)][:, np.clip(np.arange(-radius, width + radius), 0, width - 1)]
    rows = padded[0:height]
    for shift in range(1, window):
        rows = extreme(rows, padded[shift : shift + height])
    result = rows[:, 0:width]
    for shift in range(1, window):
        result = extreme(result, rows[:, shift : shift + width])
    return result


# --- Specks ------------------------------------------------------------------------------------


def without_specks(mask: np.ndarray) -> np.ndarray:
    """The ink mask without specks: pieces of ink holding under SPECK_SHARE of all the ink.

    Pieces are found on a grid of at most 64 x 64 cells (8-connected), so strokes a cell
    apart count as one piece and the search stays small. A digit's own pieces (the bar of a
    5 drawn apart) each hold far more than a speck of dust does.
    """
    cell = -(-max(mask.shape) // 64)
    height, width = -(-mask.shape[0] // cell), -(-mask.shape[1] // cell)
    padded = np.zeros((height * cell, width * cell), bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    mass = padded.reshape(height, cell, width, cell).sum(axis=(1, 3))
    # Labelling on at most 64 x 64 cells: a flood fill here is fast enough, and scipy.ndimage
    # would be a dependency for this one call.
    labels = np.zeros(mass.shape, np.int32)
    pieces = [0]
    for start in zip(*np.nonzero(mass)):
        if labels[start]:
            continue
        pieces.append(0)
        labels[start] = len(pieces) - 1
        stack = [start]
        while stack:
            row, col = stack.pop()
            pieces[-1] += int(mass[row, col])
            for r in range(max(0, row - 1), min(height, row + 2)):
                for c in range(max(0, col - 1), min(width, col + 2)):
                    if mass[r, c] and not labels[r, c]:
                        labels[r, c] = len(pieces) - 1
                        stack.append((r, c))
    keep = np.array(pieces) >= SPECK_SHARE * sum(pieces)
    keep[0] = False
    cells = np.repeat(np.repeat(keep[labels], cell, axis=0), cell, axis=1)
    return mask & cells[: mask.shape[0], : mask.shape[1]]
