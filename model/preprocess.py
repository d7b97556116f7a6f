"""The MNIST recipe: any picture of one digit -> the 28x28 input the networks read.

MNIST digits were cropped to their ink, scaled so the longer side is 20 px (keeping
the aspect ratio, with anti-aliasing), and pasted into a 28x28 field with the centre
of mass at the centre. A network trained on them only reads drawings that went
through the same steps, so `to_mnist` repeats them for any picture of a digit, one
function per step:

1. `ink_map` (model/ink.py): find the ink, whatever the picture's mode, depth, range,
   colours, alpha or lighting (model/picture.py reads it): a map with ink high;
2. `crop_to_ink`: crop to the ink, inside a frame if the picture has one; a blank
   picture or a few specks stop here with `None`;
3. `scale_longer_side`: scale the longer side to 20 px, working at 4x resolution (80 px);
4. `set_stroke_width`: bring the stroke width into MNIST's range: people draw big and
   small with the same brush, so the width relative to the digit varies 2-4x;
5. `centre_and_reduce`: place it so that the centre of mass lands at the centre, then
   average 4x4 blocks down to 28x28 (block averaging keeps the centre of mass exactly
   where it was put).

`trace` gives each step's picture (the Inside view shows them), `naive_resize` the contrast
(the whole picture squeezed to 28x28), `normalize` the per-pixel normalisation the
networks were trained with, and `mnist_crop` the same recipe for some of a picture's pieces
of ink: one candidate digit of a number (model/number.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from model.ink import INK_THRESHOLD, ink_as_float, ink_map, without_specks
from model.picture import composite_over_white, luminance, read_pixels

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

# A drawing whose longer side is under this many stroke widths is a dot, not a digit
# (a round dot of diameter D measures D / 2 wide, so it scores 2).
MIN_EXTENT_IN_STROKES = 2.5
# "Specks or a digit?" is judged on the ink alone, never on the canvas: a 24 px digit on a
# 2000 px canvas is a digit. Ink filling less than this share of its own bounding box is a
# few scattered specks (a stroke 1/100 of a digit's height still fills about 1 %), and fewer
# than MIN_INK_PIXELS ink pixels are no drawing at all.
MIN_BOX_FILL = 0.003
MIN_INK_PIXELS = 4
# Ink filling less than this share of its box may be a digit with dust around it: its specks
# (model.ink.without_specks) are then left out of the box.
SPARSE_BOX_FILL = 0.05
# A frame is lines along at least FRAME_SIDES sides of the picture, each in the outer
# FRAME_BAND of that side and covering at least FRAME_COVER of its length.
FRAME_BAND, FRAME_COVER, FRAME_SIDES = 0.15, 0.7, 3

# The normalisation used in training (MNIST's mean and standard deviation); weight files
# record the values they were trained with, these are the defaults.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def to_mnist(image, normalize_stroke: bool = True) -> np.ndarray | None:
    """Turn a picture of one digit into a 28x28 float32 array in [0, 1], ink = 1.

    `image` may be a Gradio Sketchpad value (a dict with "composite"), a PIL image of any
    mode, a numpy array (H x W, H x W x 1/2/3/4; any integer, bool or float dtype and any
    value range), a path, the bytes of an image file or a file object.
    Returns None when there is no digit to read: a blank picture or only specks.
    Raises model.picture.UnreadableImage for files that are not pictures, ValueError for arrays that are not.
    """
    return run_steps(image, normalize_stroke, views=None)


def trace(image) -> list[tuple[str, np.ndarray]] | None:
    """The named pictures `to_mnist` makes on its way, in order, each float32 in [0, 1], ink = 1.

    The last one is exactly `to_mnist(image)`. None when the picture is blank.
    """
    views: list[tuple[str, np.ndarray]] = []
    return views if run_steps(image, True, views) is not None else None


def run_steps(image, normalize_stroke: bool, views: list | None) -> np.ndarray | None:
    """Steps 1-5 of the module docstring; `views`, when given, collects each step's picture."""
    ink = ink_map(image)
    crop = crop_to_ink(ink) if ink is not None else None
    if crop is None:
        return None
    big = scale_longer_side(crop, BOX * SUPERSAMPLE)
    stroked = set_stroke_width(big) if normalize_stroke else big
    if stroked is None:
        return None
    image28 = centre_and_reduce(stroked)
    if views is not None:
        views += [("ink found", ink_as_float(ink)), ("cropped to the ink", crop), ("scaled: longer side 20 px", big),
                  ("stroke width into MNIST's range", stroked), ("centre of mass at the centre", image28)]
    return image28


def naive_resize(image) -> np.ndarray | None:
    """What most demos do: the whole picture squeezed to 28x28 and inverted (no crop, no centring).

    For contrast with `to_mnist` in the drawn-digit bench and the teaching views. It reads
    the same inputs as `to_mnist` (shown over white paper); None when the picture is empty
    or one flat colour.
    """
    pixels = read_pixels(image)
    if pixels is None:
        return None
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        pixels = composite_over_white(pixels)
    gray = luminance(pixels)
    if gray.dtype == np.uint8:
        small = np.asarray(Image.fromarray(np.ascontiguousarray(gray)).resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.float32) / 255
    else:
        small = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.float32)
    if float(gray.max()) == float(gray.min()):
        return None
    return np.clip(1.0 - small, 0.0, 1.0).astype(np.float32)


def normalize(images, mean: float = MNIST_MEAN, std: float = MNIST_STD):
    """The per-pixel normalisation the network was trained with, (images - mean) / std.

    A numpy array comes back as float32; a torch tensor stays a tensor (its dtype and device
    kept), so serving, training and fine-tuning share this one formula.
    """
    normalized = (images - mean) / std
    return normalized.astype(np.float32) if isinstance(normalized, np.ndarray) else normalized


# --- 2. Crop to the ink --------------------------------------------------------------------


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    """The smallest box holding all ink (inside a frame, if there is one) as float32 in [0, 1].

    None when there is too little ink, or only scattered specks of it.
    """
    full = 255 if ink.dtype == np.uint8 else 1.0
    mask = ink > INK_THRESHOLD * full
    box = ink_box(mask)
    if box is None:
        return None
    frame = inside_frame(mask, box)
    if frame is not None:
        ink, mask = ink[frame], mask[frame]
        box = ink_box(mask)
        if box is None:
            return None
    if np.count_nonzero(mask[box]) < SPARSE_BOX_FILL * mask[box].size:
        # Sparse ink: a digit with dust around it, or only dust. Judge the box without specks.
        box = ink_box(without_specks(mask))
        if box is None:  # nothing but specks
            return None
    if np.count_nonzero(mask[box]) < max(MIN_INK_PIXELS, MIN_BOX_FILL * mask[box].size):
        return None
    return ink_as_float(ink[box])


def ink_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest (rows, columns) box holding every ink pixel of `mask`, or None when it has none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if rows.size else None


def inside_frame(mask: np.ndarray, box: tuple[slice, slice]) -> tuple[slice, slice] | None:
    """The part of the picture inside a frame drawn around the digit, or None when there is no frame.

    A frame is lines along at least FRAME_SIDES sides, near the edges, each covering most of
    its side; a digit's own strokes (a 7's bar) run along one side at most. Lines are only
    counted when the ink's `box` reaches the outer bands on enough sides, so most pictures skip this.
    """
    height, width = mask.shape
    band_rows, band_cols = max(1, int(FRAME_BAND * height)), max(1, int(FRAME_BAND * width))
    rows, cols = box
    reaches = [rows.start < band_rows, rows.stop > height - band_rows, cols.start < band_cols, cols.stop > width - band_cols]
    if min(height, width) < 16 or sum(reaches) < FRAME_SIDES:
        return None
    full_rows = np.count_nonzero(mask, axis=1) >= FRAME_COVER * width
    full_cols = np.count_nonzero(mask, axis=0) >= FRAME_COVER * height
    top, bottom = np.flatnonzero(full_rows[:band_rows]), np.flatnonzero(full_rows[height - band_rows :])
    left, right = np.flatnonzero(full_cols[:band_cols]), np.flatnonzero(full_cols[width - band_cols :])
    if sum(side.size > 0 for side in (top, bottom, left, right)) < FRAME_SIDES:
        return None
    # Inside the innermost line on each side, one more pixel for the frame's anti-aliased edge.
    first_row = top[-1] + 2 if top.size else 0
    last_row = height - band_rows + bottom[0] - 1 if bottom.size else height
    first_col = left[-1] + 2 if left.size else 0
    last_col = width - band_cols + right[0] - 1 if right.size else width
    if last_row - first_row < 4 or last_col - first_col < 4:
        return None  # lines all the way in: a solid block or a boxy tight crop, not a frame
    return slice(first_row, last_row), slice(first_col, last_col)


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
    area = float(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    # Inside: ink whose four neighbours are ink too; a pixel on the picture's edge never is.
    inside = np.zeros_like(mask)
    inside[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    outline = area - float(np.count_nonzero(inside))
    # A stroke of width w and length L has area w*L and about 2L outline pixels.
    return 2.0 * area / outline if outline else float(min(mask.shape))


def set_stroke_width(big: np.ndarray) -> np.ndarray | None:
    """Thin or thicken the strokes of a BOX*SUPERSAMPLE image into MNIST_STROKE_WIDTHS (at SUPERSAMPLE x).

    Returns None when the "digit" is a single dot (no longer than a couple of stroke widths).
    """
    thinnest, thickest = (limit * SUPERSAMPLE for limit in MNIST_STROKE_WIDTHS)
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
    box = ink_box(adjusted > INK_THRESHOLD)
    return scale_longer_side(adjusted[box], BOX * SUPERSAMPLE) if box is not None else None


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


# SIZE x SIZE*SUPERSAMPLE: row i averages columns i*SUPERSAMPLE to (i+1)*SUPERSAMPLE - 1.
BLOCK_MEAN = np.kron(np.eye(SIZE, dtype=np.float32), np.full((1, SUPERSAMPLE), 1 / SUPERSAMPLE, np.float32))


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
    # The block average as two small matrix products: numpy's mean over a strided 4-D view of
    # the field was the costliest step of a crop, and a number crops every candidate digit.
    return BLOCK_MEAN @ field @ BLOCK_MEAN.T


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity centre of mass."""
    mass = image.sum()
    rows, cols = image.sum(axis=1), image.sum(axis=0)
    return float(np.arange(len(rows)) @ rows / mass), float(np.arange(len(cols)) @ cols / mass)


def mnist_crop(ink: np.ndarray, labels: np.ndarray, pieces: list, box: tuple[int, int, int, int],
               whole: bool) -> np.ndarray | None:
    """The 28x28 of some pieces of ink (model/segment.Piece: their `label` in `labels`, the
    ink map's component labels) by the MNIST recipe: their ink only (with its anti-aliased
    edge), or the whole picture's crop exactly as `to_mnist` makes it when they are every piece."""
    if whole:
        crop = crop_to_ink(ink)
    else:
        x0, y0, x1, y1 = box
        ours = np.zeros(max(p.label for p in pieces) + 1, bool)
        ours[[p.label for p in pieces]] = True
        near = np.zeros((y1 - y0 + 2, x1 - x0 + 2), bool)
        inside = labels[y0:y1, x0:x1]
        near[1:-1, 1:-1] = ours[np.minimum(inside, len(ours) - 1)] & (inside < len(ours))
        # One px around the pieces' ink: the anti-aliased edge the ink threshold left out.
        near = near[1:-1, 1:-1] | near[:-2, 1:-1] | near[2:, 1:-1] | near[1:-1, :-2] | near[1:-1, 2:]
        crop = ink_as_float(ink[y0:y1, x0:x1]) * near
    if crop is None:
        return None
    stroked = set_stroke_width(scale_longer_side(crop, BOX * SUPERSAMPLE))
    return centre_and_reduce(stroked) if stroked is not None else None
