"""Canvas -> 28x28, the way MNIST itself was made.

MNIST digits were cropped to their ink, scaled so the longer side is 20 px (keeping
the aspect ratio, with anti-aliasing), and pasted into a 28x28 field with the centre
of mass at the centre. A network trained on them only reads drawings that went
through the same steps, so this module repeats them for any picture of a digit:

1. find the ink (dark on light, light on dark, or alpha): a map with ink high;
2. crop to the ink; a blank picture or a lone speck stops here with `None`;
3. scale the longer side to 20 px, working at 4x resolution (80 px);
4. bring the stroke width into MNIST's range: people draw big and small with
   the same brush, so the width relative to the digit varies 2-4x;
5. place it so that the centre of mass lands at the centre, then average 4x4 blocks
   down to 28x28 (block averaging keeps the centre of mass exactly where it was put).
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
from PIL import Image, UnidentifiedImageError

SIZE = 28  # the network's input is SIZE x SIZE
BOX = 20  # the longer side of the digit, as in MNIST
SUPERSAMPLE = 4  # steps 3-5 run at this multiple of the final resolution
# Where the centre of mass goes, in pixel-index coordinates (row, column = 0 .. 27). MNIST's
# training digits have theirs at (14.0, 14.0) on average (std 0.3), so that is the centre here.
CENTRE = 14.0
# Stroke widths (in output px) that drawings are brought into: the 10-90 % range of MNIST's
# training digits (median 2.75 px), measured with `stroke_width` at 4x resolution. Widths
# inside it are left alone: the network is trained on all of them, and every thinning or
# thickening also blurs corners and closes small loops.
MNIST_STROKE_WIDTHS = (2.0, 3.8)

INK_THRESHOLD = 0.25  # a pixel is "ink" above this; lower values are anti-aliasing or noise
# A drawing whose longer side is under this many stroke widths is a dot, not a digit
# (a round dot of diameter D measures D / 2 wide, so it scores 2).
MIN_EXTENT_IN_STROKES = 2.5
# Ink covering less than this share of the picture is treated as stray specks.
MIN_INK_SHARE = 2e-5

# Pictures larger than this (on their longer side) are shrunk first: a digit needs no more,
# and a 6000x6000 photo would otherwise cost half a gigabyte of floats.
MAX_SIDE = 2048

# PIL refuses pictures of more than twice this many pixels as decompression bombs. An
# 8000 x 8000 upload still loads: it is shrunk to MAX_SIDE before any float copy is made.
Image.MAX_IMAGE_PIXELS = 64_000_000

# The normalisation used in training (MNIST's mean and standard deviation); weight files
# record the values they were trained with, these are the defaults.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def keep_freed_memory_for_reuse() -> None:
    """Let glibc's malloc reuse freed blocks instead of handing them back to the kernel.

    Each 800x800 canvas makes a few temporary pictures of about 640 kB. By default glibc
    serves blocks that size with mmap and returns them on free, so every call page-faults
    its temporaries in again: that doubled the time of `to_mnist` (3.4 -> 1.6 ms measured
    with `python -m bench.inference`). Keeping up to 64 MB of freed memory costs nothing
    noticeable. Other platforms and C libraries are left as they are.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on; no lookup needed
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):  # no mallopt (musl, say): nothing to tune
        pass


keep_freed_memory_for_reuse()


class UnreadableImage(ValueError):
    """A file that is not a picture PIL can read (non-image bytes, truncated, a decompression bomb)."""


def open_image(path) -> Image.Image:
    """Open and fully decode an image file, or raise UnreadableImage saying why."""
    try:
        image = Image.open(path)
        image.load()  # a truncated file fails here, not later inside the preprocessing
        return image
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(f"not a readable image ({error.__class__.__name__}: {error})") from error


def to_mnist(image, normalize_stroke: bool = True) -> np.ndarray | None:
    """Turn a picture of one digit into a 28x28 float32 array in [0, 1], ink = 1.

    `image` may be a Gradio Sketchpad value (a dict with "composite"), a PIL image of any
    mode, or a numpy array (H x W, H x W x 1/3/4; uint8, uint16, bool or float).
    Returns None when there is no digit to read: a blank canvas or only specks.
    """
    ink = ink_map(image)
    if ink is None:
        return None
    crop = crop_to_ink(ink)
    if crop is None:
        return None
    big = scale_longer_side(crop, BOX * SUPERSAMPLE)
    if normalize_stroke:
        big = set_stroke_width(big, *(w * SUPERSAMPLE for w in MNIST_STROKE_WIDTHS))
        if big is None:
            return None
    return centre_and_reduce(big)


def normalize(image28: np.ndarray, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> np.ndarray:
    """The per-pixel normalisation the network was trained with."""
    return ((image28 - mean) / std).astype(np.float32)


# --- 1. Which pixels are ink -------------------------------------------------------------


def ink_map(image) -> np.ndarray | None:
    """H x W ink strength, ink high: uint8 (0-255) for 8-bit pictures, else float32 in [0, 1].

    8-bit pictures (every Sketchpad value, every PNG) stay uint8 until they are cropped,
    because converting a whole 800x800 RGBA canvas to floats would cost more than all the
    other steps together. Returns None for an empty value.
    """
    if isinstance(image, dict):  # a Gradio ImageEditor / Sketchpad value
        image = image.get("composite")
    if image is None:
        return None
    if isinstance(image, (str, bytes)) or hasattr(image, "read"):
        image = Image.open(image)
    pixels = pil_pixels(image) if isinstance(image, Image.Image) else np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (2, 3, 4))):
        raise ValueError(f"expected an H x W or H x W x C image, got an array of shape {pixels.shape}")
    if pixels.size == 0:
        return None
    pixels = shrink(pixels if pixels.dtype == np.uint8 else as_float(pixels), MAX_SIDE)
    full = 255 if pixels.dtype == np.uint8 else 1.0
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4) and pixels[:, :, -1].min() < 0.98 * full:
        # Anything transparent: the alpha channel is what was drawn (a Sketchpad layer,
        # or a PNG with a transparent background), whatever colour the ink has.
        return np.ascontiguousarray(pixels[:, :, -1])
    return contrast_with_background(luminance(pixels))


def pil_pixels(image: Image.Image) -> np.ndarray:
    """The pixels of a PIL image of any mode: uint8 L, LA, RGB or RGBA, or a float/uint16 array."""
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if image.mode in ("I", "F"):  # no fixed range: stretch to [0, 1]
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        has_alpha = image.mode in ("PA", "La", "RGBa") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(image)


def as_float(pixels: np.ndarray) -> np.ndarray:
    """Scale any integer, boolean or float array to float32 in [0, 1]."""
    if pixels.dtype == bool:
        return pixels.astype(np.float32)
    if np.issubdtype(pixels.dtype, np.integer):
        return pixels.astype(np.float32) / float(np.iinfo(pixels.dtype).max)
    pixels = np.nan_to_num(pixels.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
    if pixels.size and pixels.max() > 1.0:  # floats on a 0-255 scale
        pixels = pixels / 255.0
    return np.clip(pixels, 0.0, 1.0)


def shrink(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Average blocks of pixels so that neither side exceeds `max_side`."""
    factor = -(-max(pixels.shape[:2]) // max_side)
    if factor <= 1:
        return pixels
    if pixels.dtype == np.uint8:  # PIL averages 8-bit pixels in C, with no float copy
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).reduce(factor))
    height, width = pixels.shape[0] // factor * factor, pixels.shape[1] // factor * factor
    blocks = pixels[:height, :width].reshape(height // factor, factor, width // factor, factor, *pixels.shape[2:])
    return blocks.mean(axis=(1, 3))


def luminance(pixels: np.ndarray) -> np.ndarray:
    """Luminance of an H x W (x 1-4) array, keeping its dtype; an alpha channel is ignored."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] <= 2:  # grey, or grey + alpha
        return pixels[:, :, 0]
    if pixels.dtype == np.uint8:  # PIL converts RGB(A) in C, without copying the channels apart
        return np.asarray(Image.fromarray(pixels).convert("L"))
    return pixels[:, :, :3] @ np.array([0.299, 0.587, 0.114], np.float32)


def contrast_with_background(gray: np.ndarray) -> np.ndarray:
    """Ink = how far a pixel is from the background, which is read off the picture's border.

    Dark ink on a light background and light ink on a dark one come out the same.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    full = 255.0 if gray.dtype == np.uint8 else 1.0
    background = float(np.median(border)) / full
    levels = np.arange(256, dtype=np.float32) / 255 if gray.dtype == np.uint8 else gray
    if background >= 0.5:
        ink = (background - levels) / background
    else:
        ink = (levels - background) / (1.0 - background)
    ink = np.clip(ink, 0.0, 1.0)
    if gray.dtype == np.uint8:  # a lookup table over the 256 grey levels, applied by PIL in C
        table = np.round(ink * 255).astype(np.uint8).tolist()
        return np.asarray(Image.fromarray(np.ascontiguousarray(gray)).point(table))
    return ink.astype(np.float32)


# --- 2. Crop to the ink --------------------------------------------------------------------


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    """The smallest box holding all ink as float32 in [0, 1], or None when there is too little ink."""
    full = 255 if ink.dtype == np.uint8 else 1.0
    mask = ink > INK_THRESHOLD * full
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0 or np.count_nonzero(mask) < max(1.0, MIN_INK_SHARE * ink.size):
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return crop.astype(np.float32) / 255 if ink.dtype == np.uint8 else crop.astype(np.float32)


# --- 3. Scale the longer side ----------------------------------------------------------------


def scale_longer_side(ink: np.ndarray, longer: int) -> np.ndarray:
    """Resize so that the longer side is exactly `longer` px, keeping the aspect ratio."""
    height, width = ink.shape
    scale = longer / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL wants (w, h)
    # BOX averages every source pixel when shrinking (true anti-aliasing);
    # bilinear is smooth and ring-free when a small picture is enlarged.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(ink, mode="F").resize(size, resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


# --- 4. Stroke width -----------------------------------------------------------------------------


def stroke_width(ink: np.ndarray) -> float:
    """Average stroke width in px: area / length, with length = half the ink's outline."""
    mask = ink > 0.5
    area = float(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = float((mask & ~inside).sum())
    # A stroke of width w and length L has area w*L and about 2L outline pixels.
    return 2.0 * area / outline if outline else float(min(mask.shape))


def set_stroke_width(big: np.ndarray, thinnest: float, thickest: float) -> np.ndarray | None:
    """Thin or thicken the strokes of a BOX*SUPERSAMPLE image into [thinnest, thickest] px.

    Returns None when the "digit" is a single dot (no longer than a couple of stroke widths).
    """
    width = stroke_width(big)
    if max(big.shape) < MIN_EXTENT_IN_STROKES * width:
        return None
    radius = round((width - np.clip(width, thinnest, thickest)) / 2)
    # Keep at least a 2-px core when thinning, so that faint strokes never vanish.
    radius = min(radius, max(0, int((width - 2) / 2)))
    if radius == 0:
        return big
    if radius < 0:  # thickening grows the digit: leave room for it
        big = np.pad(big, -radius)
    adjusted = morph(big, abs(radius), thicken=radius < 0)
    crop = crop_to_ink(adjusted)
    return scale_longer_side(crop, BOX * SUPERSAMPLE) if crop is not None else None


def morph(image: np.ndarray, radius: int, thicken: bool) -> np.ndarray:
    """Grey-level dilation (thicken) or erosion (thin) by a disc-like octagon of `radius` px.

    Alternating 3x3 cross and 3x3 square steps grow an octagon, close enough to the round
    brush that diagonal strokes change width as much as straight ones.
    """
    extreme = np.maximum if thicken else np.minimum
    for step in range(radius):
        padded = np.pad(image, 1)
        centre = padded[1:-1, 1:-1]
        result = extreme(extreme(centre, padded[:-2, 1:-1]), extreme(padded[2:, 1:-1], padded[1:-1, :-2]))
        result = extreme(result, padded[1:-1, 2:])
        if step % 2:
            corners = extreme(extreme(padded[:-2, :-2], padded[:-2, 2:]), extreme(padded[2:, :-2], padded[2:, 2:]))
            result = extreme(result, corners)
        image = result
    return image


# --- 5. Centre of mass, then down to 28x28 -------------------------------------------------------


def centre_and_reduce(big: np.ndarray) -> np.ndarray:
    """Paste into a 112x112 field with the centre of mass at the centre, then 4x4-average to 28x28."""
    field_size = SIZE * SUPERSAMPLE
    com_row, com_col = centre_of_mass(big)
    # Block averaging maps high-res coordinate c to (c + 0.5) / S - 0.5, so this is where the
    # centre of mass must go in the big field for it to land on CENTRE after the reduction.
    target = (CENTRE + 0.5) * SUPERSAMPLE - 0.5
    top = round(target - com_row)
    left = round(target - com_col)
    field = np.zeros((field_size, field_size), np.float32)
    # Clip whatever would fall outside the field (a lopsided digit can, as in MNIST).
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(big.shape[0] - src_top, field_size - dst_top)
    width = min(big.shape[1] - src_left, field_size - dst_left)
    field[dst_top : dst_top + height, dst_left : dst_left + width] = big[
        src_top : src_top + height, src_left : src_left + width
    ]
    return field.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity centre of mass."""
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return float((rows * image).sum() / mass), float((cols * image).sum() / mass)
