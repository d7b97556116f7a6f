"""Odd and broken pictures, each with the answer a person would expect, and how the reader does.

Every case is generated here (no files in the repository): PIL modes, bit depths and dtypes,
value ranges, alpha patterns, coloured ink and paper, NaN and inf, extreme sizes and aspect
ratios, EXIF orientations, frames, uneven lighting, noise and checkerboards, and things that
are not pictures at all. The rule each one checks (issue 8):

  digit D          a person sees the digit D: it is read as D, with confidence
  blank or unsure  a person sees no digit: the answer is "blank" or "not sure"
  error            not a picture: a clear error (UnreadableImage or ValueError) naming what is wrong

    python -m bench.fuzz_cases            # the counts by expected and actual outcome
    python -m bench.fuzz_cases --list     # every case with its outcome

tests/test_fuzz.py asserts every case.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from model.examples import STROKES
from model import load_classifier
from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, draw_strokes
from model.paths import ASSETS
from model.picture import UnreadableImage
from model.registry import DEFAULT, NETWORKS

BLANK_OR_UNSURE = "blank or unsure"
ERROR = "error"
SIDE = 160  # most cases draw on a canvas this size: big enough for a real drawing, quick to read


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    expected: str  # "digit D", BLANK_OR_UNSURE or ERROR
    make: Callable[[Path], object]  # folder for the few cases that need a real path -> the value to read


def grey(digit: int, side: int = SIDE, height: float | None = None, centre=None) -> np.ndarray:
    """The example strokes of `digit`, drawn black on white as on the app's pad, scaled to `side`."""
    height = 0.6 * side if height is None else height
    centre = (side / 2, side / 2) if centre is None else centre
    return draw_strokes(STROKES[digit], height, centre, side, max(1.0, BRUSH_RADIUS * side / CANVAS_SIZE))


def ink(digit: int, **kwargs) -> np.ndarray:
    """Ink coverage of the drawing, float in [0, 1] (anti-aliased edges included)."""
    return 1.0 - grey(digit, **kwargs).astype(np.float64) / 255


def painted(digit: int, ink_colour, paper_colour, side: int = SIDE) -> np.ndarray:
    """uint8 RGB: the digit in one colour on paper of another."""
    amount = ink(digit, side=side)[..., None]
    return np.round(np.array(paper_colour) * (1 - amount) + np.array(ink_colour) * amount).astype(np.uint8)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def with_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, alpha.astype(np.uint8)])


def rgb_of(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def exif_stored(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for `upright` with this EXIF orientation (the inverse of displaying it)."""
    inverse = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
               5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_270}
    return upright.transpose(inverse[orientation])


def with_orientation(upright: Image.Image, orientation: int, fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(exif_stored(upright, orientation).convert("RGB"), fmt, exif=exif.tobytes())


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: a decompression bomb, refused before decoding."""
    data = bytearray(encoded(Image.new("L", (1, 1), 255), "PNG"))
    header = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def framed(digit: int, thickness: int, inset: int, side: int = SIDE, shade: int = 0) -> np.ndarray:
    canvas = grey(digit, side=side, height=0.5 * side).copy()
    outer = slice(inset, side - inset)
    canvas[inset : inset + thickness, outer] = canvas[side - inset - thickness : side - inset, outer] = shade
    canvas[outer, inset : inset + thickness] = canvas[outer, side - inset - thickness : side - inset] = shade
    return canvas


def lit(digit: int, light: np.ndarray, ink_level: float = 0.1) -> np.ndarray:
    """The digit on paper lit by `light` (H x W in [0, 1]): float32, as a photo's luminance."""
    amount = ink(digit, side=light.shape[0])
    return (light * (1 - amount * (1 - ink_level))).astype(np.float32)


def lighting(kind: str, side: int = SIDE) -> np.ndarray:
    y, x = (np.mgrid[0:side, 0:side] + 0.5) / side
    return {
        "left to right": 0.35 + 0.6 * x,
        "top to bottom": 0.95 - 0.55 * y,
        "diagonal": 0.3 + 0.35 * (x + y),
        "vignette": 1.0 - 1.2 * ((x - 0.5) ** 2 + (y - 0.5) ** 2),
        "spotlight": 0.45 + 0.55 * np.exp(-((x - 0.3) ** 2 + (y - 0.35) ** 2) / 0.2),
    }[kind]


def cases() -> list[Case]:
    """Every case, in a fixed order (fixed seeds: the same pictures on every run)."""
    out: list[Case] = []

    def add(name, family, expected, make):
        out.append(Case(name, family, expected, make))

    # --- PIL modes -----------------------------------------------------------------------
    for digit in (7, 1, 2):
        base = Image.fromarray(grey(digit))
        modes = {
            "L": lambda b: b, "RGB": lambda b: b.convert("RGB"), "RGBA": lambda b: b.convert("RGBA"),
            "LA": lambda b: b.convert("LA"), "P": lambda b: b.convert("P"), "P adaptive": lambda b: b.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=8),
            "1": lambda b: b.convert("1"), "I": lambda b: b.convert("I"), "F": lambda b: b.convert("F"),
            "I;16": lambda b: Image.fromarray(np.asarray(b).astype(np.uint16) * 257),
            "I;16 holding 0-255": lambda b: Image.fromarray(np.asarray(b).astype(np.uint16)),
            "CMYK": lambda b: b.convert("CMYK"), "YCbCr": lambda b: b.convert("RGB").convert("YCbCr"),
            "HSV": lambda b: b.convert("RGB").convert("HSV"), "RGBa": lambda b: b.convert("RGBA").convert("RGBa"),
            "La": lambda b: b.convert("LA").convert("La"),
        }
        for mode, convert in modes.items():
            add(f"PIL mode {mode}, {digit}", "PIL modes", f"digit {digit}", lambda _, b=base, c=convert: c(b))

    # --- numpy dtypes, bit depths and value ranges ---------------------------------------------
    for digit in (3, 5):
        arrays = {
            "uint8": lambda g: g, "uint16 8-bit data": lambda g: g.astype(np.uint16),
            "uint16 12-bit data": lambda g: g.astype(np.uint16) * 16, "uint16 full range": lambda g: g.astype(np.uint16) * 257,
            "int16": lambda g: g.astype(np.int16), "int32": lambda g: g.astype(np.int32), "int64": lambda g: g.astype(np.int64),
            "int8 -128..127": lambda g: (g.astype(np.int16) - 128).astype(np.int8), "uint32 24-bit": lambda g: g.astype(np.uint32) * 65793,
            "bool": lambda g: g > 127, "float16 0-1": lambda g: (g / 255).astype(np.float16),
            "float32 0-1": lambda g: (g / 255).astype(np.float32), "float64 0-255": lambda g: g.astype(np.float64),
            "float32 -1..1": lambda g: (g / 127.5 - 1).astype(np.float32),
            "float32 MNIST-normalised": lambda g: (((255 - g) / 255 - 0.1307) / 0.3081).astype(np.float32),
            "float64 0-65535": lambda g: g.astype(np.float64) * 257, "H x W x 1": lambda g: g[..., None],
            "H x W x 3 float": lambda g: rgb_of(g / 255).astype(np.float32), "1 x H x W": lambda g: g[None],
            "1 x 1 x H x W float": lambda g: (g / 255)[None, None].astype(np.float32),
        }
        for kind, make in arrays.items():
            add(f"array {kind}, {digit}", "dtypes and ranges", f"digit {digit}", lambda _, d=digit, m=make: m(grey(d)))

    # --- encoded files (bytes), every common format and depth ----------------------------------
    for digit in (6, 8):
        base = Image.fromarray(grey(digit))
        files = {
            "PNG": lambda b: encoded(b, "PNG"), "PNG RGBA": lambda b: encoded(b.convert("RGBA"), "PNG"),
            "PNG 16-bit holding 8-bit": lambda b: encoded(Image.fromarray(np.asarray(b).astype(np.uint16)), "PNG"),
            "PNG 16-bit holding 12-bit": lambda b: encoded(Image.fromarray(np.asarray(b).astype(np.uint16) * 16), "PNG"),
            "PNG 16-bit": lambda b: encoded(Image.fromarray(np.asarray(b).astype(np.uint16) * 257), "PNG"),
            "JPEG q90": lambda b: encoded(b.convert("RGB"), "JPEG", quality=90),
            "JPEG q20": lambda b: encoded(b.convert("RGB"), "JPEG", quality=20),
            "WEBP lossy": lambda b: encoded(b.convert("RGB"), "WEBP", quality=50),
            "WEBP lossless": lambda b: encoded(b.convert("RGBA"), "WEBP", lossless=True),
            "GIF": lambda b: encoded(b, "GIF"), "BMP": lambda b: encoded(b.convert("RGB"), "BMP"),
            "TIFF": lambda b: encoded(b, "TIFF"), "TIFF float": lambda b: encoded(b.convert("F"), "TIFF"),
            "TIFF 16-bit": lambda b: encoded(Image.fromarray(np.asarray(b).astype(np.uint16) * 257), "TIFF"),
        }
        for kind, make in files.items():
            add(f"{kind} bytes, {digit}", "file formats", f"digit {digit}", lambda _, b=base, m=make: m(b))
    add("PNG as a file object, 6", "file formats", "digit 6", lambda _: io.BytesIO(encoded(Image.fromarray(grey(6)), "PNG")))
    add("PNG at a pathlib.Path, 2", "file formats", "digit 2",
        lambda folder: save_to(folder / "two.png", encoded(Image.fromarray(grey(2)), "PNG")))
    add("PNG at a str path, 2", "file formats", "digit 2",
        lambda folder: str(save_to(folder / "two again.png", encoded(Image.fromarray(grey(2)), "PNG"))))

    # --- alpha ------------------------------------------------------------------------------
    for digit in (7, 9):
        alphas = {
            "black ink on a transparent sheet": lambda g, amount: with_alpha(np.zeros(g.shape + (3,), np.uint8), amount),
            "white ink on a transparent sheet": lambda g, amount: with_alpha(np.full(g.shape + (3,), 255, np.uint8), amount),
            "red ink on a transparent sheet": lambda g, amount: with_alpha(np.broadcast_to(np.uint8([200, 0, 0]), g.shape + (3,)), amount),
            "ink in alpha, random colours under it": lambda g, amount: with_alpha(np.random.default_rng(1).integers(0, 256, g.shape + (3,), dtype=np.uint8), amount),
            "1-px transparent border": lambda g, amount: border_transparent(with_alpha(rgb_of(g), np.full(g.shape, 255)), 1),
            "4-px transparent border": lambda g, amount: border_transparent(with_alpha(rgb_of(g), np.full(g.shape, 255)), 4),
            "one transparent corner": lambda g, amount: corner_transparent(with_alpha(rgb_of(g), np.full(g.shape, 255))),
            "uniform alpha 200": lambda g, amount: with_alpha(rgb_of(g), np.full(g.shape, 200)),
            "uniform alpha 60": lambda g, amount: with_alpha(rgb_of(g), np.full(g.shape, 60)),
            "LA with transparent border": lambda g, amount: border_transparent(np.dstack([g, np.full(g.shape, 255, np.uint8)]), 2),
            "float RGBA, transparent corner": lambda g, amount: corner_transparent(with_alpha(rgb_of(g), np.full(g.shape, 255))).astype(np.float32) / 255,
        }
        for kind, make in alphas.items():
            add(f"alpha: {kind}, {digit}", "alpha", f"digit {digit}", lambda _, d=digit, m=make: m(grey(d), np.round(ink(d) * 255)))

    # --- coloured ink on coloured paper ----------------------------------------------------------
    pairs = {
        "red on blue": ((230, 20, 20), (20, 40, 220)), "yellow on white": ((255, 220, 0), (255, 255, 255)),
        "blue on yellow": ((20, 30, 200), (250, 230, 60)), "white on green": ((255, 255, 255), (20, 140, 40)),
        "green on red": ((20, 200, 40), (200, 20, 20)), "black on grey": ((0, 0, 0), (150, 150, 150)),
        "cyan on magenta": ((0, 230, 230), (220, 0, 220)), "pencil grey on cream": ((110, 110, 120), (250, 240, 215)),
        "navy on black": ((30, 30, 140), (0, 0, 0)), "orange on brown": ((255, 150, 0), (90, 50, 20)),
    }
    for index, (kind, (ink_colour, paper_colour)) in enumerate(pairs.items()):
        digit = (2, 3, 4, 5, 7)[index % 5]
        add(f"colour: {kind}, {digit}", "colours", f"digit {digit}", lambda _, d=digit, i=ink_colour, p=paper_colour: painted(d, i, p))

    # --- NaN and inf --------------------------------------------------------------------------
    for digit in (4, 8):
        bad = {
            "one NaN": lambda f: spoil(f, [(5, 5)], np.nan), "one inf": lambda f: spoil(f, [(80, 80)], np.inf),
            "one -inf": lambda f: spoil(f, [(3, 150)], -np.inf), "a row of NaN": lambda f: spoil_row(f, 40, np.nan),
            "NaN on a 0-255 scale": lambda f: spoil(f * 255, [(10, 10)], np.nan),
            "inf on a 0-255 scale": lambda f: spoil(f * 255, [(10, 10), (150, 150)], np.inf),
            "bicubic overshoot to 1.03": lambda f: np.where(f > 0.95, np.float32(1.03), f),
            "undershoot to -0.04": lambda f: np.where(f < 0.05, np.float32(-0.04), f),
        }
        for kind, make in bad.items():
            add(f"float: {kind}, {digit}", "NaN and inf", f"digit {digit}", lambda _, d=digit, m=make: m(grey(d).astype(np.float32) / 255))
    add("float: all NaN", "NaN and inf", BLANK_OR_UNSURE, lambda _: np.full((64, 64), np.nan, np.float32))
    add("float: all inf", "NaN and inf", BLANK_OR_UNSURE, lambda _: np.full((64, 64), np.inf, np.float32))

    # --- sizes and aspect ratios ---------------------------------------------------------------
    add("1 x 4096 uint16", "sizes", BLANK_OR_UNSURE, lambda _: np.full((1, 4096), 60000, np.uint16))
    add("3000 x 1 float", "sizes", BLANK_OR_UNSURE, lambda _: np.ones((3000, 1), np.float32))
    add("1 x 5000 float, half dark", "sizes", BLANK_OR_UNSURE, lambda _: np.repeat(np.float32([[0, 1]]), 2500, axis=1))
    add("5000 x 2 uint8 noise", "sizes", BLANK_OR_UNSURE, lambda _: np.random.default_rng(2).integers(0, 256, (5000, 2), dtype=np.uint8))
    add("1 x 1", "sizes", BLANK_OR_UNSURE, lambda _: np.zeros((1, 1), np.uint8))
    add("2 x 2 float", "sizes", BLANK_OR_UNSURE, lambda _: np.float32([[0, 1], [1, 0]]))
    add("3 x 3 RGB PIL", "sizes", BLANK_OR_UNSURE, lambda _: Image.new("RGB", (3, 3), "white"))
    for digit, side, height in ((7, 2000, 24), (4, 2000, 30), (3, 1200, 20), (5, 4000, 200)):
        add(f"{height} px {digit} on a {side} x {side} canvas", "sizes", f"digit {digit}",
            lambda _, d=digit, s=side, h=height: small_on_big(d, s, h))
    add("7 in a 60 x 2000 strip", "sizes", "digit 7", lambda _: np.hstack([np.full((60, 970), 255, np.uint8), grey(7, side=60), np.full((60, 970), 255, np.uint8)]))
    add("4 in a 2000 x 60 strip", "sizes", "digit 4", lambda _: np.vstack([np.full((970, 60), 255, np.uint8), grey(4, side=60), np.full((970, 60), 255, np.uint8)]))
    add("MNIST-sized 28 x 28, white on black, 2", "sizes", "digit 2", lambda _: 255 - np.asarray(Image.fromarray(grey(2)).resize((28, 28), Image.Resampling.BOX)))
    add("16 x 16 uint16 3", "sizes", "digit 3", lambda _: np.asarray(Image.fromarray(grey(3)).resize((16, 16), Image.Resampling.BOX)).astype(np.uint16) * 16)
    add("800 x 800 float64 8", "sizes", "digit 8", lambda _: grey(8, side=800).astype(np.float64) / 255)
    add("2500 x 2500 RGBA 6", "sizes", "digit 6", lambda _: np.asarray(Image.fromarray(grey(6, side=2500)).convert("RGBA")))

    # --- dust around a digit ---------------------------------------------------------------------
    for digit, side, height, specks in ((4, 1200, 300, 3), (7, 2000, 120, 12), (2, 800, 200, 1), (9, 1600, 250, 30)):
        add(f"{digit} with {specks} specks of dust on a {side} px canvas", "specks", f"digit {digit}",
            lambda _, d=digit, s=side, h=height, n=specks: dusty(d, s, h, n))

    # --- EXIF orientation (a phone photo stored sideways) ----------------------------------------
    for digit, fmt in ((7, "JPEG"), (4, "JPEG"), (2, "PNG")):
        upright = Image.fromarray(grey(digit))
        for orientation in range(2, 9):
            add(f"EXIF orientation {orientation}, {fmt}, {digit}", "EXIF orientation", f"digit {digit}",
                lambda _, u=upright, o=orientation, f=fmt: with_orientation(u, o, f))
    add("EXIF orientation 6 as a PIL image, 7", "EXIF orientation", "digit 7",
        lambda _: Image.open(io.BytesIO(with_orientation(Image.fromarray(grey(7)), 6, "JPEG"))))

    # --- frames ------------------------------------------------------------------------------------
    for digit in (7, 3):
        for thickness, inset, shade in ((3, 0, 0), (6, 0, 0), (3, 8, 0), (8, 12, 0), (4, 4, 90), (2, 20, 0)):
            add(f"frame {thickness} px, {inset} px in, shade {shade}, {digit}", "frames", f"digit {digit}",
                lambda _, d=digit, t=thickness, i=inset, s=shade: framed(d, t, i, shade=s))
        add(f"double frame, {digit}", "frames", f"digit {digit}", lambda _, d=digit: double_frame(d))

    # --- uneven lighting -----------------------------------------------------------------------------
    for index, kind in enumerate(("left to right", "top to bottom", "diagonal", "vignette", "spotlight")):
        for digit in ((7, 0, 2, 5, 9)[index], (3, 4, 8, 6, 7)[index]):
            add(f"lighting {kind}, {digit}", "uneven lighting", f"digit {digit}", lambda _, d=digit, k=kind: lit(d, lighting(k)))
    add("lighting vignette, uint8 photo, 4", "uneven lighting", "digit 4", lambda _: np.round(lit(4, lighting("vignette")) * 255).astype(np.uint8))
    add("lighting gradient under chalk on a blackboard, 2", "uneven lighting", "digit 2",
        lambda _: (0.15 + 0.25 * lighting("left to right") * 0 + 0.2 * lighting("diagonal") / 1.0 + 0.6 * ink(2)).astype(np.float32))

    # --- noise, checkerboards, blanks: no digit ---------------------------------------------------
    rng_seed = 10
    for seed in range(3):
        add(f"uniform noise uint8 #{seed}", "no digit", BLANK_OR_UNSURE,
            lambda _, s=seed: np.random.default_rng(rng_seed + s).integers(0, 256, (SIDE, SIDE), dtype=np.uint8))
        add(f"gaussian noise float #{seed}", "no digit", BLANK_OR_UNSURE,
            lambda _, s=seed: np.random.default_rng(20 + s).normal(0.5, 0.2, (SIDE, SIDE)).astype(np.float32))
        add(f"colour noise RGB #{seed}", "no digit", BLANK_OR_UNSURE,
            lambda _, s=seed: np.random.default_rng(30 + s).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))
    for cell in (2, 5, 10, 20, 40):
        add(f"checkerboard {cell} px", "no digit", BLANK_OR_UNSURE, lambda _, c=cell: checkerboard(c))
    add("horizontal stripes", "no digit", BLANK_OR_UNSURE, lambda _: np.repeat((np.arange(SIDE) // 10 % 2 * 255).astype(np.uint8)[:, None], SIDE, axis=1))
    add("a grid of thin lines", "no digit", BLANK_OR_UNSURE, lambda _: grid_lines())
    blanks = {
        "white": lambda: np.full((SIDE, SIDE), 255, np.uint8), "black": lambda: np.zeros((SIDE, SIDE), np.uint8),
        "mid grey float": lambda: np.full((SIDE, SIDE), 0.5, np.float32), "fully transparent RGBA": lambda: np.zeros((SIDE, SIDE, 4), np.uint8),
        "white PNG": lambda: encoded(Image.new("L", (200, 100), 255), "PNG"), "empty array": lambda: np.zeros((0, 0), np.uint8),
        "a few specks of dust": lambda: dust(), "one tap of the pen": lambda: grey(1, height=1),
        "faint paper texture": lambda: np.clip(np.random.default_rng(4).normal(235, 3, (SIDE, SIDE)), 0, 255).astype(np.uint8),
        "empty Sketchpad value": lambda: {"background": None, "layers": [], "composite": None}, "None": lambda: None,
        "smooth gradient, nothing on it": lambda: lighting("diagonal").astype(np.float32),
    }
    for kind, make in blanks.items():
        add(f"blank: {kind}", "no digit", BLANK_OR_UNSURE, lambda _, m=make: m())

    # --- not pictures: a clear error --------------------------------------------------------------
    png = encoded(Image.fromarray(grey(7)), "PNG")
    jpeg = encoded(Image.fromarray(grey(7)).convert("RGB"), "JPEG")
    tiff = encoded(Image.fromarray(grey(7)), "TIFF")
    webp = encoded(Image.fromarray(grey(7)).convert("RGB"), "WEBP")
    gif = encoded(Image.fromarray(grey(7)), "GIF")
    not_images = {
        "random bytes": lambda _: np.random.default_rng(5).integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        "text": lambda _: b"a shopping list, not a picture\n" * 10, "empty bytes": lambda _: b"",
        "HTML": lambda _: b"<!doctype html><html><body>hi</body></html>", "a PDF header": lambda _: b"%PDF-1.7\n" + b"0" * 100,
        "gzip bytes": lambda _: zlib.compress(b"x" * 100), "truncated PNG": lambda _: png[: len(png) // 2],
        "truncated JPEG": lambda _: jpeg[: len(jpeg) // 3], "truncated TIFF": lambda _: tiff[: len(tiff) // 2],
        "truncated GIF": lambda _: gif[: len(gif) // 2], "damaged WEBP": lambda _: webp[:24] + b"\xff" * 10 + webp[34:],
        "PNG signature only": lambda _: png[:8], "decompression bomb PNG": lambda _: png_claiming(30000, 30000),
        "a FIFO": lambda folder: fifo(folder), "a device": lambda _: "/dev/zero", "a folder": lambda _: ASSETS,
        "a missing file": lambda folder: folder / "not there.png", "a path with a NUL": lambda _: "digit\x00.png",
        "a text file": lambda folder: save_to(folder / "notes.png", b"not a png"),
        "an array of 7 channels": lambda _: np.zeros((8, 8, 7), np.uint8), "an array of objects": lambda _: np.array([[object()]]),
        "an array of strings": lambda _: np.array([["a", "b"]]), "a complex array": lambda _: np.ones((8, 8), np.complex64),
        "a 5-d array": lambda _: np.zeros((2, 3, 8, 8, 3), np.uint8), "a number": lambda _: 7,
    }
    for kind, make in not_images.items():
        add(f"not a picture: {kind}", "not pictures", ERROR, make)
    return out


def save_to(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def fifo(folder: Path) -> Path:
    path = folder / "pipe.png"
    if not path.exists():
        os.mkfifo(path)
    return path


def border_transparent(rgba: np.ndarray, width: int) -> np.ndarray:
    rgba = rgba.copy()
    rgba[:width, :, -1] = rgba[-width:, :, -1] = rgba[:, :width, -1] = rgba[:, -width:, -1] = 0
    return rgba


def corner_transparent(rgba: np.ndarray) -> np.ndarray:
    rgba = rgba.copy()
    rgba[: rgba.shape[0] // 5, : rgba.shape[1] // 5, -1] = 0
    return rgba


def spoil(pixels: np.ndarray, places, value) -> np.ndarray:
    pixels = pixels.astype(np.float32).copy()
    for row, col in places:
        pixels[row, col] = value
    return pixels


def spoil_row(pixels: np.ndarray, row: int, value) -> np.ndarray:
    pixels = pixels.copy()
    pixels[row] = value
    return pixels


def small_on_big(digit: int, side: int, height: int) -> np.ndarray:
    canvas = np.full((side, side), 255, np.uint8)
    patch = 2 * height
    top, left = side // 3, side // 2
    canvas[top : top + patch, left : left + patch] = draw_strokes(STROKES[digit], height, (patch / 2, patch / 2), patch, max(1.0, height / 14))
    return canvas


def dusty(digit: int, side: int, height: int, specks: int) -> np.ndarray:
    """A digit in the middle of a big scan, with specks of dust (1-3 px) scattered far from it."""
    canvas = small_on_big(digit, side, height)
    rng = np.random.default_rng(side + specks)
    for _ in range(specks):
        row, col = rng.integers(0, side // 5, 2) + rng.integers(0, 2, 2) * (side - side // 5 - 3)
        size = int(rng.integers(1, 4))
        canvas[row : row + size, col : col + size] = 0
    return canvas


def double_frame(digit: int) -> np.ndarray:
    canvas = framed(digit, 3, 2)
    inner = framed(digit, 2, 10)
    return np.minimum(canvas, inner)


def checkerboard(cell: int) -> np.ndarray:
    rows, cols = np.indices((SIDE, SIDE)) // cell
    return ((rows + cols) % 2 * 255).astype(np.uint8)


def grid_lines() -> np.ndarray:
    canvas = np.full((SIDE, SIDE), 255, np.uint8)
    canvas[::16] = canvas[:, ::16] = 0
    return canvas


def dust() -> np.ndarray:
    canvas = np.full((800, 800), 255, np.uint8)
    canvas[100, 100] = canvas[400:402, 600:602] = canvas[700, 50] = 0
    return canvas


def outcome(classifier, value) -> str:
    """What the reader made of one value: "digit D", "unsure D", "blank" or "error"."""
    try:
        prediction = classifier.predict(value)
    except (UnreadableImage, ValueError):
        return ERROR
    if prediction.blank:
        return "blank"
    digit = prediction.top(1)[0][0]
    return f"{'unsure' if prediction.unsure else 'digit'} {digit}"


def as_expected(expected: str, actual: str) -> bool:
    if expected == BLANK_OR_UNSURE:
        return actual == "blank" or actual.startswith("unsure")
    return actual == expected


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped network to read with (default: {DEFAULT})")
    parser.add_argument("--list", action="store_true", help="print every case with its outcome")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default: 1; one small picture at a time gains nothing from more)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    classifier = load_classifier(arch=args.arch)
    table: Counter = Counter()
    misses = []
    with tempfile.TemporaryDirectory() as folder:
        for case in cases():
            actual = outcome(classifier, case.make(Path(folder)))
            kind = actual if actual in ("blank", ERROR) else actual.split()[0]  # digit / unsure
            right = as_expected(case.expected, actual)
            table[(case.expected.split()[0] if case.expected.startswith("digit") else case.expected, kind, right)] += 1
            if args.list or not right:
                print(f"{'ok  ' if right else 'MISS'} {case.family:<18} {case.name:<55} expected {case.expected:<16} got {actual}")
            if not right:
                misses.append(case.name)
    total = sum(table.values())
    print(f"\n{total} cases, {total - len(misses)} as expected, {len(misses)} not ({args.arch})\n")
    print(f"{'expected':<18}{'answered':<22}{'cases':>6}  as expected")
    for (expected, kind, right), count in sorted(table.items()):
        answered = {"digit": "that digit" if right else "a digit", "unsure": "not sure"}.get(kind, kind)
        print(f"{expected:<18}{answered:<22}{count:>6}  {'yes' if right else 'NO'}")
    return {"cases": total, "misses": misses, "table": dict(table)}


if __name__ == "__main__":
    main()
