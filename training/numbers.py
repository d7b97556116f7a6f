"""Whole numbers written from pen strokes: for the number bench, the tests and fitting the reader.

Each number is written by one pen-stroke writer (../shared/data/strokes) in that writer's own
digits: each digit scaled to the line's height (with a little size jitter and turn), stood on
a baseline (a little jitter), the whole number slanted a little, spaced as its kind says, with a
dot or a short dash stroke where it has one, then drawn with the app's brush (model/canvas.py)
on a pad a little larger than the number. Kinds:

    spaced    2-5 digits, gaps of 15-60 % of the digit height between their inks
    close     2-5 digits, gaps of 0-12 %: slanted neighbours overlap in x
    touching  2-3 digits, each one's ink running into its neighbour's
    decimal   3.14, 0.5, 12.75 ...
    negative  -42, -7, -305 ...
    single    one digit

    writers = by_writer(training_digits(SHARED_STROKES))         # writers 01-20 (training/strokes.py)
    written = write_number("3.14", writers[name], "decimal", rng)  # .picture, .strokes and .boxes per symbol
    numbers = make_numbers(digits, per_kind=300, seed=0)          # (kind, writer, text, written), every kind
    split_right(reading, written)                                 # the reader found these symbols, one box each
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import NamedTuple

import numpy as np

from model.canvas import BRUSH_RADIUS, draw_strokes

KINDS = ("spaced", "close", "touching", "decimal", "negative", "single")
# Gaps between neighbouring digits' inks, as a share of the digit height, per kind.
GAPS = {"spaced": (0.15, 0.60), "close": (0.0, 0.12), "decimal": (0.12, 0.5), "negative": (0.12, 0.5)}
# How deep a touching digit's ink runs into its neighbour's, as a share of the digit height.
TOUCH_DEPTH = (0.01, 0.06)
DIGIT_HEIGHT = (90, 230)  # px of the pad's own pixels: a phone's pad (shown smaller than it is) to a mouse
SIZE_JITTER = 0.10  # each digit's height varies by up to this share
BASELINE_JITTER = 0.04  # each digit stands up to this share of the height off the baseline
SLANT_DEGREES = (-6.0, 16.0)  # the whole number; people lean right more often than left
TURN_DEGREES = 3.0  # each digit on its own
Strokes = list[list[tuple[float, float]]]


def text_of(kind: str, rng: np.random.Generator) -> str:
    """The number to write, as text."""
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    if kind in ("spaced", "close"):
        return digits(rng.integers(2, 6))
    if kind == "touching":
        return digits(rng.integers(2, 4))
    if kind == "decimal":
        whole = "0" if rng.random() < 0.3 else digits(rng.integers(1, 3))
        return f"{whole}.{digits(rng.integers(1, 3))}"
    if kind == "negative":
        return "-" + digits(rng.integers(1, 4))
    return digits(1)


def transformed(strokes: Strokes, height: float, turn: float) -> np.ndarray:
    """A digit's strokes as one array of points (with stroke ends kept apart by `split_points`),
    turned by `turn` radians and scaled to `height`, its top-left at (0, 0)."""
    points = np.array([p for stroke in strokes for p in stroke], np.float64)
    centre = points.mean(axis=0)
    c, s = math.cos(turn), math.sin(turn)
    points = (points - centre) @ np.array([[c, s], [-s, c]])
    low, high = points.min(axis=0), points.max(axis=0)
    return (points - low) * (height / max(high[1] - low[1], 1.0))


def split_points(points: np.ndarray, strokes: Strokes) -> Strokes:
    """The flat points back into strokes of the original lengths."""
    bounds = np.cumsum([0] + [len(stroke) for stroke in strokes])
    return [[tuple(p) for p in points[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]


def ink_rows(points: np.ndarray, strokes: Strokes, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Leftmost and rightmost inked column of each row (NaN where a row has no ink) of a digit
    drawn with the app's brush at its place (x from 0, y from 0 = the top of `rows`)."""
    margin = BRUSH_RADIUS + 2
    shifted = points + [margin, 0]
    width = int(shifted[:, 0].max()) + margin + 1
    side = max(width, rows)
    low, high = shifted.min(axis=0), shifted.max(axis=0)
    canvas = draw_strokes(split_points(shifted, strokes), max(high[1] - low[1], 1.0), tuple((low + high) / 2), side)
    ink = canvas[:rows] < 128
    cols = np.arange(side, dtype=np.float64)
    left = np.where(ink.any(axis=1), np.where(ink, cols, np.inf).min(axis=1), np.nan) - margin
    right = np.where(ink.any(axis=1), np.where(ink, cols, -np.inf).max(axis=1), np.nan) - margin
    return left, right


class Written(NamedTuple):
    """A number drawn on a pad: the picture (uint8, black on white), and each symbol's strokes
    on it and its ink's box (x0, y0, x1, y1; x1, y1 exclusive), in writing order."""

    picture: np.ndarray
    strokes: list[Strokes]
    boxes: list[tuple[int, int, int, int]]


def write_number(text: str, samples: dict[int, list[Strokes]], kind: str, rng: np.random.Generator) -> Written:
    """`text` written in one writer's digits (`samples`: label -> that writer's strokes), drawn
    with the app's brush on a pad a little larger than the number."""
    height = rng.uniform(*DIGIT_HEIGHT)
    baseline = 2.0 * height  # room above and below; the pad is cropped to the number later
    rows = int(4 * height)
    placed: list[Strokes] = []
    right_edge = None  # per row, the ink's rightmost column so far (NaN: none)
    cursor = 0.0
    gap_range = GAPS.get(kind, GAPS["spaced"])
    for symbol in text:
        if symbol in ".-":
            placed.append([mark_stroke(symbol, cursor, baseline, height, rng)])
            cursor = max(x for x, _ in placed[-1][0]) + BRUSH_RADIUS + rng.uniform(0.08, 0.3) * height
            right_edge = None
            continue
        options = samples[int(symbol)]
        strokes = options[int(rng.integers(len(options)))]
        size = height * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER)
        points = transformed(strokes, size, math.radians(rng.uniform(-TURN_DEGREES, TURN_DEGREES)))
        points[:, 1] += baseline - size + rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * height
        if kind == "touching" and right_edge is not None:
            left = ink_rows(points, strokes, rows)[0]
            depth = max(2.0, rng.uniform(*TOUCH_DEPTH) * height)
            points[:, 0] += np.nanmax(right_edge - left) + 1 - depth  # its deepest row runs `depth` px in
        else:
            points[:, 0] += cursor + BRUSH_RADIUS + (rng.uniform(*gap_range) * height if placed else 0.0)
        placed.append(split_points(points, strokes))
        cursor = points[:, 0].max() + BRUSH_RADIUS
        if kind == "touching":
            right = ink_rows(points, strokes, rows)[1]
            right_edge = right if right_edge is None else np.fmax(right_edge, right)
    # The slant: x moves by the height above the baseline.
    lean = math.tan(math.radians(rng.uniform(*SLANT_DEGREES)))
    placed = [[[(x + lean * (baseline - y), y) for x, y in stroke] for stroke in symbol] for symbol in placed]
    points = np.array([p for symbol in placed for stroke in symbol for p in stroke])
    margins = rng.uniform(0.2, 0.8, 4) * height + BRUSH_RADIUS + 2
    offset = points.min(axis=0) - margins[:2]
    placed = [[[(x - offset[0], y - offset[1]) for x, y in stroke] for stroke in symbol] for symbol in placed]
    points = points - offset
    width, pad_height = int(points[:, 0].max() + margins[2]), int(points[:, 1].max() + margins[3])
    low, high = points.min(axis=0), points.max(axis=0)
    strokes = [stroke for symbol in placed for stroke in symbol]
    canvas = draw_strokes(strokes, max(high[1] - low[1], 1.0), tuple((low + high) / 2), max(width, pad_height))
    boxes = []
    for symbol in placed:
        ink = np.array([p for stroke in symbol for p in stroke])
        (x0, y0), (x1, y1) = ink.min(axis=0) - BRUSH_RADIUS, ink.max(axis=0) + BRUSH_RADIUS
        boxes.append((max(0, int(x0)), max(0, int(y0)), min(width, math.ceil(x1) + 1), min(pad_height, math.ceil(y1) + 1)))
    return Written(np.ascontiguousarray(canvas[:pad_height, :width]), placed, boxes)


def mark_stroke(symbol: str, cursor: float, baseline: float, height: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """The stroke of a dot (a tap that moves a little) or a minus sign (a short dash across the
    middle of the line), starting a small gap right of `cursor`."""
    x = cursor + rng.uniform(0.08, 0.3) * height + BRUSH_RADIUS
    if symbol == ".":
        size, angle = rng.uniform(0.0, 0.05) * height, rng.uniform(0, 2 * math.pi)
        y = baseline - BRUSH_RADIUS - rng.uniform(0.0, 0.06) * height
        return [(x, y), (x + size * math.cos(angle), y + size * math.sin(angle))]
    length, y = rng.uniform(0.3, 0.7) * height, baseline - rng.uniform(0.4, 0.6) * height
    tilt = rng.uniform(-0.08, 0.08) * length
    return [(x + length * t, y + tilt * t) for t in np.linspace(0, 1, int(rng.integers(2, 5)))]


def by_writer(digits: list[dict]) -> dict[str, dict[int, list[Strokes]]]:
    """writer -> label -> that writer's strokes of that digit."""
    writers: dict[str, dict[int, list[Strokes]]] = defaultdict(lambda: defaultdict(list))
    for digit in digits:
        writers[digit["writer"]][digit["label"]].append(digit["strokes"])
    return {w: dict(labels) for w, labels in sorted(writers.items()) if len(labels) == 10}


def make_numbers(digits: list[dict], per_kind: int, seed: int) -> list[tuple[str, str, str, Written]]:
    """(kind, writer, text, the number written) for `per_kind` numbers of every kind, seeded."""
    writers = by_writer(digits)
    names = list(writers)
    rng = np.random.default_rng(seed)
    numbers = []
    for kind in KINDS:
        for _ in range(per_kind):
            writer = names[int(rng.integers(len(names)))]
            text = text_of(kind, rng)
            numbers.append((kind, writer, text, write_number(text, writers[writer], kind, rng)))
    return numbers


def symbol_masks(written: Written) -> list[np.ndarray]:
    """Each symbol's own ink, drawn alone where it stands in the picture: bool, the picture's shape."""
    height, width = written.picture.shape
    masks = []
    for strokes in written.strokes:
        points = np.array([p for stroke in strokes for p in stroke])
        low, high = points.min(axis=0), points.max(axis=0)
        if high[1] - low[1] < 1:  # a dot that never moved down: one more point makes the drawing's scale 1
            strokes = strokes + [[(low[0], low[1] + 1)]]
            high = np.maximum(high, (low[0], low[1] + 1))
        canvas = draw_strokes(strokes, high[1] - low[1], tuple((low + high) / 2), max(width, height))
        masks.append(canvas[:height, :width] < 128)
    return masks


def split_right(reading, written: Written) -> bool:
    """Whether the reader found the number's symbols, whatever it read them as: as many, and
    each box covering the one of its symbol (overlap at least half their union)."""
    if len(reading.symbols) != len(written.boxes):
        return False
    return all(overlap(symbol.box, box) >= 0.5 for symbol, box in zip(reading.symbols, written.boxes))


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return width * height / max(1, area(a) + area(b) - width * height)
