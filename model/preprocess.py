"""Canvas -> 28x28, the way MNIST itself was made.

MNIST digits were cropped to their ink, scaled so the longer side is 20 px (keeping
the aspect ratio, with anti-aliasing), and pasted into a 28x28 field with the centre
of mass at the centre. A network trained on them only reads drawings that went
through the same steps, so this module repeats them for any picture of a digit:

1. find the ink, whatever the picture's mode, depth, range, colours, alpha or lighting:
   a map with ink high (`ink_map`);
2. crop to the ink, inside a frame if the picture has one; a blank picture or a few
   specks stop here with `None`;
3. scale the longer side to 20 px, working at 4x resolution (80 px);
4. bring the stroke width into MNIST's range: people draw big and small with
   the same brush, so the width relative to the digit varies 2-4x;
5. place it so that the centre of mass lands at the centre, then average 4x4 blocks
   down to 28x28 (block averaging keeps the centre of mass exactly where it was put).
"""

from __future__ import annotations

import ctypes
import io
import os
import stat
import sys

import numpy as np
from PIL import Image, ImageOps

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
# Ink whose strongest pixel differs less than this from the paper is no drawing (paper texture,
# JPEG noise); a fainter drawing than full black is brought to full strength (`full_strength`).
FAINT_INK = 0.1
# A drawing whose longer side is under this many stroke widths is a dot, not a digit
# (a round dot of diameter D measures D / 2 wide, so it scores 2).
MIN_EXTENT_IN_STROKES = 2.5
# "Specks or a digit?" is judged on the ink alone, never on the canvas: a 24 px digit on a
# 2000 px canvas is a digit. Ink filling less than this share of its own bounding box is a
# few scattered specks (a stroke 1/100 of a digit's height still fills about 1 %), and fewer
# than MIN_INK_PIXELS ink pixels are no drawing at all.
MIN_BOX_FILL = 0.003
MIN_INK_PIXELS = 4
# Ink filling less than this share of its box may be a digit with dust around it: pieces of
# ink holding under SPECK_SHARE of all the ink are then left out of the box.
SPARSE_BOX_FILL, SPECK_SHARE = 0.05, 0.03

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
# A frame is lines along at least FRAME_SIDES sides of the picture, each in the outer
# FRAME_BAND of that side and covering at least FRAME_COVER of its length.
FRAME_BAND, FRAME_COVER, FRAME_SIDES = 0.15, 0.7, 3

# A picture narrower than this (on its shorter side) cannot show a digit: scaled up, whatever
# a 5000 x 2 strip holds becomes a straight line, which is a "1" to the network.
MIN_SIDE = 8

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
    """Not a picture that can be read; the message names the file and says what is wrong in plain words.

    `name` is the file's name (never its folder), `reason` the plain words; str() gives "name: reason".
    """

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


EXIF_ORIENTATION = 0x0112


def open_image(source) -> Image.Image:
    """Open and fully decode a picture, upright, or raise UnreadableImage saying why.

    `source` is a path (str or os.PathLike), the bytes of an encoded image, or a binary file
    object. Paths are opened without blocking and checked to be regular files first, so a
    FIFO, a device or a folder is refused at once instead of hanging the caller. Messages
    name the file by its name only, never by a folder of the machine it runs on.
    """
    name = source_name(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode(io.BytesIO(bytes(source)), name)
    if isinstance(source, (str, os.PathLike)):
        try:
            # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
            descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            raise UnreadableImage(name, "no such file") from None
        except IsADirectoryError:
            raise UnreadableImage(name, "is a folder, not an image file") from None
        except PermissionError:
            raise UnreadableImage(name, "cannot be read (permission denied)") from None
        except ValueError:  # "embedded null byte": image bytes passed as a str path
            raise UnreadableImage(name, "a file name cannot contain a NUL character (pass the bytes of an image as bytes, not str)") from None
        except OSError as error:
            raise UnreadableImage(name, f"cannot be opened ({error.strerror or error.__class__.__name__})") from None
        # fstat on the opened descriptor: no window in which the path could be swapped.
        kind = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(kind):
            os.close(descriptor)
            if stat.S_ISDIR(kind):
                raise UnreadableImage(name, "is a folder, not an image file")
            raise UnreadableImage(name, "is not a regular file (a FIFO, device or socket); only image files are read")
        with os.fdopen(descriptor, "rb") as file:
            return decode(file, name)
    if hasattr(source, "read"):
        return decode(source, name)
    raise UnreadableImage(name, f"cannot read a {type(source).__name__} as an image: give a path, the image's bytes or a file object")


def source_name(source) -> str:
    """How messages call a source: a file's own name, never the folders around it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "the image bytes given"
    if isinstance(source, (str, os.PathLike)):
        try:
            return os.path.basename(os.fsdecode(source)).replace("\x00", "\\0") or "the path given"
        except (TypeError, ValueError):
            return "the path given"
    name = getattr(source, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else "the file given"


def decode(file, name: str) -> Image.Image:
    """Decode a whole picture from an open binary file, turning every failure into plain words."""
    try:
        image = Image.open(file)
        image.load()  # a truncated file fails here, not later inside the preprocessing
    except Image.DecompressionBombError:
        raise UnreadableImage(name, f"is too large to read: more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels") from None
    # PIL's decoders fail with many exception types on damaged files (OSError, SyntaxError,
    # EOFError, struct.error, IndexError ...): each is a damaged file to the caller.
    except Exception as error:  # noqa: BLE001
        raise UnreadableImage(name, f"not a readable image: {what_went_wrong(error)}") from None
    return upright(image)


def what_went_wrong(error: Exception) -> str:
    """PIL's error, said in plain words; its text is not repeated, it can hold a server path."""
    text = str(error).lower()
    if error.__class__.__name__ == "UnidentifiedImageError":
        return "the file is not in an image format this reader knows (PNG, JPEG, WEBP, GIF, BMP, TIFF ...)"
    if isinstance(error, EOFError) or any(
        word in text for word in ("truncated", "not large enough", "broken data stream", "not enough data", "premature end")
    ):
        return "the file is cut short or damaged: it ends before the picture does"
    if "decoder" in text:  # "could not create decoder object" (WEBP), "decoder ... not available"
        return "its picture data is damaged or in a variant this installation cannot decode"
    return f"its picture data is damaged ({error.__class__.__name__})"


def upright(image: Image.Image) -> Image.Image:
    """Turn a photo the way its EXIF orientation says, as every viewer shows it."""
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 -- damaged EXIF: show the picture as stored, as viewers do
        return image
    return ImageOps.exif_transpose(image) if orientation in (2, 3, 4, 5, 6, 7, 8) else image


def to_mnist(image, normalize_stroke: bool = True) -> np.ndarray | None:
    """Turn a picture of one digit into a 28x28 float32 array in [0, 1], ink = 1.

    `image` may be a Gradio Sketchpad value (a dict with "composite"), a PIL image of any
    mode, a numpy array (H x W, H x W x 1/2/3/4; any integer, bool or float dtype and any
    value range), a path, the bytes of an image file or a file object.
    Returns None when there is no digit to read: a blank picture or only specks.
    Raises UnreadableImage for files that are not pictures, ValueError for arrays that are not.
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
    if ink is None:
        return None
    if views is not None:
        views.append(("ink found", ink.astype(np.float32) / 255 if ink.dtype == np.uint8 else ink))
    crop = crop_to_ink(ink)
    if crop is None:
        return None
    big = scale_longer_side(crop, BOX * SUPERSAMPLE)
    if views is not None:
        views += [("cropped to the ink", crop), ("scaled: longer side 20 px", big)]
    if normalize_stroke:
        big = set_stroke_width(big, *(w * SUPERSAMPLE for w in MNIST_STROKE_WIDTHS))
        if big is None:
            return None
    image28 = centre_and_reduce(big)
    if views is not None:
        views += [("stroke width into MNIST's range", big), ("centre of mass at the centre", image28)]
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


def normalize(image28: np.ndarray, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> np.ndarray:
    """The per-pixel normalisation the network was trained with."""
    return ((image28 - mean) / std).astype(np.float32)


# --- 1. Which pixels are ink -------------------------------------------------------------


def ink_map(image) -> np.ndarray | None:
    """H x W ink strength, ink high: uint8 (0-255) for 8-bit pictures, else float32 in [0, 1].

    8-bit pictures (every Sketchpad value, every PNG) stay uint8 until they are cropped,
    because converting a whole 800x800 RGBA canvas to floats would cost more than all the
    other steps together. Returns None for an empty value.

    What is ink: the picture as it looks on white paper, compared with its own paper (its
    background, estimated everywhere so that uneven lighting is flattened), by colour when it
    has colours. Only when that shows nothing (white ink on a transparent sheet, say) is the
    alpha channel the drawing.
    """
    pixels = read_pixels(image)
    if pixels is None or min(pixels.shape[:2]) < MIN_SIDE:
        return None
    pixels = shrink(pixels, MAX_SIDE)
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        alpha = pixels[:, :, -1]
        if alpha.min() < (255 if alpha.dtype == np.uint8 else 1.0):  # anything transparent
            ink = colour_ink(composite_over_white(pixels))
            if has_ink(ink):
                return ink
            return grey_ink(np.ascontiguousarray(alpha))
    return colour_ink(pixels)


def read_pixels(image) -> np.ndarray | None:
    """Any accepted picture as an H x W or H x W x 2/3/4 array: uint8, or float32 in [0, 1]."""
    if isinstance(image, dict):  # a Gradio ImageEditor / Sketchpad value
        image = image.get("composite")
    if image is None:
        return None
    if isinstance(image, (str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(image, "read"):
        image = open_image(image)
    pixels = pil_pixels(upright(image)) if isinstance(image, Image.Image) else np.asarray(image)
    if pixels.dtype.kind not in "biuf":
        raise ValueError(f"expected a picture of numbers, got an array of {pixels.dtype}")
    while pixels.ndim > 2 and pixels.shape[0] == 1 and (pixels.ndim > 3 or pixels.shape[2] > 4):
        pixels = pixels[0]  # 1 x H x W (x C), as tensors come
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (2, 3, 4))):
        raise ValueError(f"expected an H x W or H x W x C image, got an array of shape {pixels.shape}")
    if pixels.size == 0:
        return None
    return pixels if pixels.dtype == np.uint8 else as_float(pixels)


def pil_pixels(image: Image.Image) -> np.ndarray:
    """The pixels of a PIL image of any mode: uint8 L, LA, RGB or RGBA, or a numeric array (I, I;16, F)."""
    if image.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):
        return np.asarray(image)
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    if image.mode == "La":  # grey premultiplied by alpha; PIL converts it to nothing else
        premultiplied = np.asarray(image).astype(np.float32)
        alpha = premultiplied[:, :, 1:]
        grey = np.where(alpha > 0, premultiplied[:, :, :1] * 255 / np.maximum(alpha, 1), 0)
        return np.concatenate([np.clip(np.round(grey), 0, 255), alpha], axis=2).astype(np.uint8)
    has_alpha = image.mode in ("PA", "RGBa") or "transparency" in image.info
    try:
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    except ValueError:  # a mode PIL cannot convert to RGB
        raise ValueError(f"pictures in PIL mode {image.mode} cannot be read; convert them to RGB or L first") from None


def as_float(pixels: np.ndarray) -> np.ndarray:
    """Scale any integer, boolean or float array to float32 in [0, 1], by the range its data uses.

    The dtype says little: 8- or 12-bit data often sits in uint16 or int32, floats come on a
    0-1 or a 0-255 scale with a little overshoot from resampling, NaN and inf turn up.
    """
    if pixels.dtype == bool:
        return pixels.astype(np.float32)
    if np.issubdtype(pixels.dtype, np.integer):
        # The smallest bit depth (8 or more) that holds the values: 8-bit data in 16 bits is 8-bit.
        low, high = min(0, int(pixels.min())), int(pixels.max())
        full = (1 << max(8, (high - low).bit_length())) - 1
        return ((pixels.astype(np.float64) - low) / full).astype(np.float32)
    pixels = pixels.astype(np.float32)
    finite = np.isfinite(pixels)
    if not finite.all():
        if not finite.any():
            return np.zeros(pixels.shape, np.float32)  # nothing to read: a blank picture
        # A bad pixel takes the picture's typical value, so it neither blanks nor marks the picture.
        pixels = np.where(finite, pixels, np.median(pixels[finite]))
    low, high = float(pixels.min()), float(pixels.max())
    if high <= 1.5:  # a 0-1 scale; bicubic resampling overshoots it a little
        return np.clip(pixels, 0.0, 1.0)
    if 16 <= high <= 255 * 1.1 and low >= -0.1 * 255:  # a 0-255 scale
        return np.clip(pixels / 255.0, 0.0, 1.0)
    # Any other range (normalised tensors, HDR, raw sensor values): stretch what is there.
    return ((pixels - low) / (high - low)).astype(np.float32)


def shrink(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Average blocks of pixels so that neither side exceeds `max_side`.

    A side shorter than the block (a 1 x 5000 strip) is kept whole rather than rounded to 0.
    """
    factor = -(-max(pixels.shape[:2]) // max_side)
    if factor <= 1:
        return pixels
    rows, cols = min(factor, pixels.shape[0]), min(factor, pixels.shape[1])
    if pixels.dtype == np.uint8:  # PIL averages 8-bit pixels in C, with no float copy
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).reduce((cols, rows)))
    height, width = pixels.shape[0] // rows * rows, pixels.shape[1] // cols * cols
    blocks = pixels[:height, :width].reshape(height // rows, rows, width // cols, cols, *pixels.shape[2:])
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def composite_over_white(pixels: np.ndarray) -> np.ndarray:
    """A picture with alpha as it looks on white paper (the alpha channel dropped)."""
    colour, alpha = pixels[:, :, :-1], pixels[:, :, -1:]
    if pixels.dtype == np.uint8:
        colour, alpha = colour.astype(np.uint16), alpha.astype(np.uint16)
        return ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return colour * alpha + (1.0 - alpha)


def luminance(pixels: np.ndarray) -> np.ndarray:
    """Luminance of an H x W (x 1-4) array, keeping its dtype; an alpha channel is ignored."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] <= 2:  # grey, or grey + alpha
        return pixels[:, :, 0]
    if pixels.dtype == np.uint8:  # PIL converts RGB(A) in C, without copying the channels apart
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).convert("L"))
    return pixels[:, :, :3] @ np.array([0.299, 0.587, 0.114], np.float32)


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


def has_ink(ink: np.ndarray) -> bool:
    return float(ink.max()) > INK_THRESHOLD * (255 if ink.dtype == np.uint8 else 1.0)


# --- 2. Crop to the ink --------------------------------------------------------------------


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    """The smallest box holding all ink (inside a frame, if there is one) as float32 in [0, 1].

    None when there is too little ink, or only scattered specks of it.
    """
    full = 255 if ink.dtype == np.uint8 else 1.0
    mask = ink > INK_THRESHOLD * full
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    if not rows.any():
        return None
    frame = inside_frame(mask, rows, cols)
    if frame is not None:
        ink, mask = ink[frame], mask[frame]
        rows, cols = mask.any(axis=1), mask.any(axis=0)
        if not rows.any():
            return None
    rows, cols = np.flatnonzero(rows), np.flatnonzero(cols)
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    if np.count_nonzero(mask[box]) < SPARSE_BOX_FILL * mask[box].size:
        # Sparse ink: a digit with dust around it, or only dust. Judge the box without specks.
        kept = without_specks(mask)
        if not kept.any():  # nothing but specks
            return None
        rows, cols = np.flatnonzero(kept.any(axis=1)), np.flatnonzero(kept.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    if np.count_nonzero(mask[box]) < max(MIN_INK_PIXELS, MIN_BOX_FILL * mask[box].size):
        return None
    return ink[box].astype(np.float32) / 255 if ink.dtype == np.uint8 else ink[box].astype(np.float32)


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


def tight_crop(ink: np.ndarray) -> np.ndarray | None:
    """The smallest box holding all ink of a float picture, or None when it has none."""
    mask = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] if rows.size else None


def inside_frame(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[slice, slice] | None:
    """The part of the picture inside a frame drawn around the digit, or None when there is no frame.

    A frame is lines along at least FRAME_SIDES sides, near the edges, each covering most of
    its side; a digit's own strokes (a 7's bar) run along one side at most. Lines are only
    counted when the ink reaches the outer bands on enough sides, so most pictures skip this.
    """
    height, width = mask.shape
    band_rows, band_cols = max(1, int(FRAME_BAND * height)), max(1, int(FRAME_BAND * width))
    reaches = [rows[:band_rows].any(), rows[-band_rows:].any(), cols[:band_cols].any(), cols[-band_cols:].any()]
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
    crop = tight_crop(adjusted)
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
