"""Picture in: any file, array or Sketchpad value as pixels, or a plain-words refusal.

`open_image` decodes a path, the bytes of an image file or a file object, upright (EXIF
orientation applied), or raises `UnreadableImage` saying why. `read_pixels` turns whatever
`model.preprocess.to_mnist` accepts (a Sketchpad value, a PIL image of any mode, a numpy
array of any dtype and range, a file) into uint8 or float32 [0, 1] pixels, whatever the
picture's mode or bit depth; `pixels_within_limits` also applies the size limits.
"""

from __future__ import annotations

import io
import os
import stat

import numpy as np
from PIL import Image, ImageOps

# A picture narrower than this (on its shorter side) cannot show a digit: scaled up, whatever
# a 5000 x 2 strip holds becomes a straight line, which is a "1" to the network.
MIN_SIDE = 8

# Pictures larger than this (on their longer side) are shrunk first: a digit needs no more,
# and a 6000x6000 photo would otherwise cost half a gigabyte of floats.
MAX_SIDE = 2048

# PIL refuses pictures of more than twice this many pixels as decompression bombs. An
# 8000 x 8000 upload still loads: it is shrunk to MAX_SIDE before any float copy is made.
Image.MAX_IMAGE_PIXELS = 64_000_000

EXIF_ORIENTATION = 0x0112


# --- Files ------------------------------------------------------------------------------------


class UnreadableImage(ValueError):
    """Not a picture that can be read; the message names the file and says what is wrong in plain words.

    `name` is the file's name (never its folder), `reason` the plain words; str() gives "name: reason".
    """

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


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


# --- Pixels ------------------------------------------------------------------------------------


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


def pixels_within_limits(image) -> np.ndarray | None:
    """`read_pixels`, within the size limits: None for a picture under MIN_SIDE on its shorter
    side (or an empty value), block-averaged down to MAX_SIDE on its longer side."""
    pixels = read_pixels(image)
    if pixels is None or min(pixels.shape[:2]) < MIN_SIDE:
        return None
    return shrink(pixels, MAX_SIDE)


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
