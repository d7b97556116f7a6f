"""Where the symbols of a handwritten number are: an ink map -> pieces in writing order.

The pad sends a picture, not strokes, so this works on the ink alone:

1. the ink's connected components (8-connected), without specks of dust;
2. the slant of the writing (the shear that stands its strokes most upright), so that
   "left of" and "overlaps in x" mean what they do for upright digits: slanted neighbours
   overlap in x on the page, not once the slant is taken out;
3. the line: the height of its digits, and its top and bottom where each piece stands;
4. "." and "-" judged by geometry against the digits around them: a dot is a small round
   blob in the lower part of the line, a dash a flat stroke across its middle, each outside
   every digit (a 7's crossbar crosses its 7, a 5's bar sits on top of its 5);
5. cuts: a component wide enough to hold two digits is cut into slabs by lines along the
   slant, close together, each at the thinnest ink near its place. Which runs of slabs make a
   digit is decided later by the networks (model/number.py).

Every piece (a component, or a part of one) comes with its box in ink-map pixels and its
extent with the slant taken out, in writing order. `linked`, `allowed` and `cut_ink` say by
geometry which runs of pieces may be one digit, and how much ink their cuts crossed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.ink import INK_THRESHOLD

# Components of less ink than this many squared stroke widths are dust (a dot made with the
# pen is a disc at least one stroke wide: about 0.8).
SPECK_AREA = 0.3
# Edges within this many degrees of upright tell the writing's slant.
SLANT_RANGE = 40.0
# Components at least this share of the tallest one's height are the line's digits.
TALL = 0.5
# A dot: no longer than this share of the digit height, its centre in the line's lower part
# (below this share of the way down), filling at least this share of its box.
DOT_SIZE, DOT_LOW, DOT_FILL = 0.45, 0.6, 0.35
# A dash: no taller than this share of the digit height, at least this wide, this many times
# wider than tall, its centre between these shares of the way down the line.
DASH_HEIGHT, DASH_WIDTH, DASH_ASPECT, DASH_BAND = 0.35, 0.18, 1.8, (0.2, 0.8)
# A mark overlapping a digit in x by more than this share of its own width belongs to that digit.
MARK_OVERLAP = 0.3
# Components at least this wide (share of the digit height, slant taken out) may hold two
# digits, and are cut into slabs when they are the only digit, or WIDER than the line's typical
# digit (the median), or at least NARROW wide: cuts one every CUT_STEP, none nearer an end than
# CUT_MARGIN.
SPLIT_WIDTH, WIDER, CUT_STEP, CUT_MARGIN = 0.65, 1.4, 0.14, 0.12
# A component narrower than this holds two digits at most, and is cut more coarsely.
NARROW, NARROW_STEP, NARROW_MARGIN = 1.0, 0.2, 0.18


@dataclass(eq=False)
class Piece:
    """A component of ink, or a part of one cut off by seams, in ink-map pixels."""

    label: int  # its value in Layout.labels
    component: int  # the component it is part of (parts of one component share it)
    part: int  # its place among that component's parts, left to right; 0 when whole
    parts: int  # how many parts that component was cut into; 1 when whole
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
    left: float  # its extent in x with the slant taken out
    right: float
    area: int
    cuts: tuple[float | None, float | None]  # stroke widths of ink on the cuts on its left and right (None: its component's end)
    mark: str | None = None  # "." or "-" when geometry says so; None for (part of) a digit

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


@dataclass
class Layout:
    labels: np.ndarray  # int32 per ink-map pixel: the Piece.label there, 0 for paper and dust
    pieces: list[Piece]  # in writing order
    height: float  # the digit height of the line, px
    top: float  # where the line's digits start and end, px down (medians)
    bottom: float
    stroke: float  # the stroke width, px
    slant: float  # x moves by this much per px up (tan of the slant)


def layout(ink: np.ndarray, cut: bool = True) -> Layout | None:
    """The pieces of a picture's ink (`model.ink.ink_map`'s output); None when there is no ink.

    `cut=False` leaves every component whole (no seams).
    """
    mask = ink > INK_THRESHOLD * (255 if ink.dtype == np.uint8 else 1.0)
    labels, count = label_components(mask)
    if count == 0:
        return None
    flat = np.flatnonzero(labels)
    ys, xs = np.divmod(flat, labels.shape[1])
    owners = labels.ravel()[flat]
    areas = np.bincount(owners, minlength=count + 1)
    stroke = stroke_width(mask, int(areas.sum()))
    dust = areas < SPECK_AREA * stroke * stroke
    dust[0] = False
    if dust[1:].all():
        return None
    if dust.any():
        keep = ~dust[owners]
        ys, xs, owners = ys[keep], xs[keep], owners[keep]
        labels = np.where(dust[labels], 0, labels).astype(np.int32)
    slant = estimate_slant(mask if not dust.any() else labels > 0, stroke)
    upright = xs + slant * (ys - ys.mean())
    order = np.argsort(owners, kind="stable")
    ys, xs, upright, owners = ys[order], xs[order], upright[order], owners[order]
    ids, starts = np.unique(owners, return_index=True)
    groups = np.split(np.arange(owners.size), starts[1:])
    pieces = [Piece(int(i), int(i), 0, 1, (int(xs[g].min()), int(ys[g].min()), int(xs[g].max()) + 1, int(ys[g].max()) + 1),
                    float(upright[g].min()), float(upright[g].max()) + 1, int(g.size), (None, None))
              for i, g in zip(ids, groups)]
    tallest = max(p.height for p in pieces)
    tall = [p for p in pieces if p.height >= TALL * tallest]
    height = float(np.median([p.height for p in tall]))
    for piece in pieces:
        if piece.height < TALL * tallest:
            piece.mark = judge_mark(piece, tall, height)
    parts: list[Piece] = []
    next_label = int(ids.max()) + 1
    widths = [p.right - p.left for p in pieces if p.mark is None and p.height >= TALL * tallest]
    typical = float(np.median(widths))
    for piece, g in zip(pieces, groups):
        width = piece.right - piece.left
        if (cut and piece.mark is None and width >= SPLIT_WIDTH * height
                and (len(widths) == 1 or width >= WIDER * typical or width >= NARROW * height)):
            found = cuts(upright[g], height, stroke)
            if found:
                split, next_label = split_piece(piece, ys[g], xs[g], upright[g], found, labels, next_label)
                parts += split
                continue
        parts.append(piece)
    parts.sort(key=lambda p: (p.left + p.right) / 2)
    top, bottom = (float(np.median([p.box[i] for p in tall])) for i in (1, 3))
    return Layout(labels, parts, height, top, bottom, stroke, slant)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a bool mask: (int32 labels, 0 = paper, count).

    Works on runs of ink along rows, joined where runs of neighbouring rows touch, with the
    labels found by hooking and pointer jumping: a few numpy passes however long the strokes
    (scipy.ndimage would be a dependency for this one call).
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), bool)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(padded[:, 1:] != padded[:, :-1])
    runs = edges.size // 2
    if runs == 0:
        return np.zeros(mask.shape, np.int32), 0
    rows, starts = np.divmod(edges[0::2], width + 1)
    ends = edges[1::2] - rows * (width + 1)
    key = width + 3  # runs sorted by (row, column) as one number
    first, last = rows * key + starts, rows * key + ends - 1
    low = np.searchsorted(last, (rows + 1) * key + starts - 1, "left")
    high = np.searchsorted(first, (rows + 1) * key + ends, "right")
    count = np.maximum(high - low, 0)
    total = int(count.sum())
    above = np.repeat(np.arange(runs), count)
    below = np.repeat(low - (np.cumsum(count) - count), count) + np.arange(total)
    parent = np.arange(runs)
    while total:
        a, b = parent[above], parent[below]
        if np.array_equal(a, b):
            break
        smaller = np.minimum(a, b)
        np.minimum.at(parent, a, smaller)
        np.minimum.at(parent, b, smaller)
        while not np.array_equal(parent[parent], parent):
            parent = parent[parent]
    roots, run_label = np.unique(parent, return_inverse=True)
    lengths = ends - starts
    labels = np.zeros(height * width, np.int32)
    first_pixel = np.repeat(rows * width + starts - (np.cumsum(lengths) - lengths), lengths)
    labels[first_pixel + np.arange(int(lengths.sum()))] = np.repeat(run_label.astype(np.int32) + 1, lengths)
    return labels.reshape(height, width), int(roots.size)


def stroke_width(mask: np.ndarray, area: int) -> float:
    """Average stroke width in px: area / length, the length being half the ink's outline."""
    inside = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    outline = area - int(np.count_nonzero(inside))
    return max(1.0, 2.0 * area / outline) if outline else 1.0


def estimate_slant(mask: np.ndarray, stroke: float) -> float:
    """tan of the writing's slant (positive: leaning right): the median direction of the ink's
    near-upright edges, each weighted by its contrast, on a copy about 3 px per stroke width.

    Upright strokes (a 1, a 4's stem, the sides of a 0) say how the writing leans; edges
    further than SLANT_RANGE from upright (bars, a 7's diagonal) say nothing about it.
    """
    f = max(1, int(stroke / 3))
    h, w = mask.shape[0] // f, mask.shape[1] // f
    if min(h, w) < 3:
        return 0.0
    small = mask[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3), dtype=np.float32)
    # Sobel gradients: across an edge leaning right by `lean` (x up per px up) they point along (1, lean).
    across = (small[:-2, 2:] + 2 * small[1:-1, 2:] + small[2:, 2:]) - (small[:-2, :-2] + 2 * small[1:-1, :-2] + small[2:, :-2])
    down = (small[2:, :-2] + 2 * small[2:, 1:-1] + small[2:, 2:]) - (small[:-2, :-2] + 2 * small[:-2, 1:-1] + small[:-2, 2:])
    upright = np.abs(down) < np.abs(across) * math.tan(math.radians(SLANT_RANGE))
    if not upright.any():
        return 0.0
    leans = down[upright] / across[upright]
    weights = np.hypot(across[upright], down[upright])
    order = np.argsort(leans)
    cumulative = np.cumsum(weights[order])
    return float(leans[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def judge_mark(piece: Piece, tall: list[Piece], height: float) -> str | None:
    """"." or "-" when a small piece's size, place and shape say so, else None (part of a digit)."""
    centre = (piece.left + piece.right) / 2
    nearest = sorted(tall, key=lambda t: abs((t.left + t.right) / 2 - centre))[:2]
    top = float(np.mean([t.box[1] for t in nearest]))
    bottom = float(np.mean([t.box[3] for t in nearest]))
    width = piece.right - piece.left
    overlap = max(min(piece.right, t.right) - max(piece.left, t.left) for t in tall)
    if overlap > MARK_OVERLAP * width:
        return None
    down = ((piece.box[1] + piece.box[3]) / 2 - top) / max(bottom - top, 1.0)
    box_width, box_height = piece.box[2] - piece.box[0], piece.height
    if (max(box_width, box_height) <= DOT_SIZE * height and down >= DOT_LOW
            and piece.area >= DOT_FILL * box_width * box_height):
        return "."
    if (box_height <= DASH_HEIGHT * height and width >= DASH_WIDTH * height and width >= DASH_ASPECT * box_height
            and DASH_BAND[0] <= down <= DASH_BAND[1]):
        return "-"
    return None


def cuts(upright: np.ndarray, height: float, stroke: float) -> list[tuple[float, float]]:
    """Where one component may be cut: (x with the slant taken out, stroke widths of ink on the
    cut), left to right: lines along the writing's slant, evenly spaced about CUT_STEP of the
    digit height apart, none nearer an end than CUT_MARGIN (NARROW_STEP and NARROW_MARGIN for
    a component that holds two digits at most).

    Straight cuts along the slant, close together, and the networks then judging every run of
    slabs between them: touching digits are cut apart wherever they touch, and a digit that
    reaches under its neighbour loses only a corner to it.
    """
    left, right = float(upright.min()), float(upright.max()) + 1
    narrow = right - left < NARROW * height
    margin, step = (NARROW_MARGIN if narrow else CUT_MARGIN) * height, (NARROW_STEP if narrow else CUT_STEP) * height
    count = int((right - left - 2 * margin) / step) + 1
    if right - left <= 2 * margin:
        return []
    places = np.linspace(left + margin, right - margin, count) if count > 1 else np.array([(left + right) / 2])
    profile = np.bincount(np.floor(upright - left).astype(np.int64)).astype(np.float32)
    return [(float(x), float(profile[int(x - left)]) / stroke) for x in places]


def split_piece(piece: Piece, ys: np.ndarray, xs: np.ndarray, upright: np.ndarray,
                found: list[tuple[float, float]], labels: np.ndarray, next_label: int) -> tuple[list[Piece], int]:
    """A component cut into slabs (left to right) at `found` (x with the slant out, cost), relabelled in `labels`."""
    side = np.searchsorted(np.array([x for x, _ in found]), upright, side="right")
    parts = []
    for part in range(len(found) + 1):
        chosen = side == part
        if not chosen.any():
            continue
        if parts:
            label, next_label = next_label, next_label + 1
        else:
            label = piece.label
        labels[ys[chosen], xs[chosen]] = label
        cuts = (found[part - 1][1] if part > 0 else None, found[part][1] if part < len(found) else None)
        parts.append(Piece(label, piece.component, len(parts), 0,
                           (int(xs[chosen].min()), int(ys[chosen].min()), int(xs[chosen].max()) + 1, int(ys[chosen].max()) + 1),
                           float(upright[chosen].min()), float(upright[chosen].max()) + 1, int(chosen.sum()), cuts))
    for part in parts:
        part.parts = len(parts)
    return parts, next_label


# --- Runs of pieces that may be one digit (model/number.py's candidates) -----------------------

# The pieces of one digit leave no gap in x wider than this share of the digit height between them.
LINK_GAP = 0.15


def linked(run: list[Piece], height: float) -> bool:
    """Whether the pieces leave no gap in x (slant taken out) wider than LINK_GAP of the digit height between them."""
    reach = -math.inf
    for piece in sorted(run, key=lambda p: p.left):
        if reach > -math.inf and piece.left - reach > LINK_GAP * height:
            return False
        reach = max(reach, piece.right)
    return True


def allowed(run: list[Piece], widths: dict[int, float], height: float) -> bool:
    """Whether the run may be one digit as far as cut components go: of each, neighbouring parts
    only (never parts 0 and 2 without 1); of a component too narrow for three digits (under
    NARROW of the digit height), or one with other components beside it, parts reaching one of
    its ends; and such parts beside other components overlap them in x."""
    parts: dict[int, list[Piece]] = {}
    for piece in run:
        parts.setdefault(piece.component, []).append(piece)
    for component, held in parts.items():
        numbers = sorted(p.part for p in held)
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            return False
        if len(held) == held[0].parts:
            continue
        if (len(parts) > 1 or widths[component] < NARROW * height) and numbers[0] != 0 and numbers[-1] != held[0].parts - 1:
            return False
        if len(parts) > 1:  # a part with other components: it must overlap them (a 7's bar over its stem)
            low, high = min(p.left for p in held), max(p.right for p in held)
            if not any(min(high, p.right) > max(low, p.left) for p in run if p.component != component):
                return False
    return True


def cut_ink(run: list[Piece]) -> tuple[float, float]:
    """(stroke widths of ink on the cuts around the run, how many of its sides are cuts, not the
    ends of components)."""
    ink, sides = 0.0, 0.0
    for component in {p.component for p in run}:
        parts = sorted((p for p in run if p.component == component), key=lambda p: p.part)
        for crossed in (parts[0].cuts[0], parts[-1].cuts[1]):
            if crossed is not None:
                ink, sides = ink + crossed, sides + 1
    return ink, sides
