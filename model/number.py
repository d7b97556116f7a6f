"""Reading a whole handwritten number: a picture -> the symbols 0-9, "." and "-", left to right.

    >>> from model import load_classifier
    >>> from model.number import read_number
    >>> reading = read_number(load_classifier(), image)   # anything Classifier.predict accepts
    >>> reading.text, reading.blank, reading.unsure
    ('3.14', False, False)
    >>> reading.symbols[0].box, reading.symbols[0].top(3)
    ((41, 30, 118, 162), [('3', 0.99), ('5', 0.004), ('8', 0.002)])
    >>> reading.as_json()                                  # what /read and `python -m model read --json` answer

How: model/segment.py finds the pieces of ink in writing order, the line's digit height, the
dots and dashes (by geometry alone), and seams where touching digits may be cut. Every run of
neighbouring pieces that could be one digit is a candidate; all candidates go through the MNIST
recipe (model/preprocess.py) and then through the network and the gate in one batch, one forward
pass each. A candidate scores its top probability and the gate's belief that it is a digit at
all, less penalties for being much shorter or wider than the line's digits and for the ink its
seams cut; dynamic programming picks the run of candidates with the best total. So a 4 drawn in
two strokes stays one digit (either stroke alone is a poor digit), touching digits are cut
where the cut reads best, and a broad digit is not cut into itself and a sliver (`echoes`).

One digit alone is a one-symbol number read exactly as `Classifier.predict` reads the picture:
a candidate holding all the ink is cropped the way `to_mnist` crops the whole picture. Each
digit is "not sure" by the classifier's own rule (its network's `unsure_below`, or the gate);
the reading is not sure when any symbol is, and blank when there is no ink.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np

from model.gate import Gate, read_gate
from model.ink import ink_map
from model.paths import ASSETS
from model.picture import read_pixels
from model.preprocess import mnist_crop
from model.segment import Layout, Piece, allowed, cut_ink, layout, linked
from model.weights import WeightsError

# The segment gate (training/segment_gate.py): "is this candidate one whole digit?".
SEGMENT_GATE = ASSETS / "segment_gate.pt"
log = logging.getLogger(__name__)
# A candidate digit is at most this many pieces and at most this wide (share of the digit height,
# slant taken out); model/segment.py's `linked` and `allowed` say which runs of pieces may be one.
MAX_PIECES, MAX_WIDTH = 8, 1.3
# What the scorer knows of a candidate (see `features`), and its weights: a candidate's score
# is WEIGHTS . features + BIAS, and the reading is the run of candidates with the best total.
# Fitted on numbers by training writers 01-15 and checked on 16-20 with `python -m training.number_scorer`
# (a structured perceptron: the weights that make the right reading the best-scoring one).
FEATURES = ("log p", "log p / second", "log gate", "log whole", "height", "(height - 1)^2", "width", "(width - 0.6)^2",
             "ink cut", "sides cut", "top", "bottom", "pieces",
             *(f"width if {d}" for d in range(10)), *(f"width^2 if {d}" for d in range(10)))
WEIGHTS = np.array([56.41, 11.17, 17.14, 20.71, 69.67, -266.9, 96.96, -248.6, -0.3764, -9.795, 11.95, 287, -0.6403, -19.75, 5.402, -91.85, 62.11, 130.6, -45.46, 179.3, -34.71, 182.2, 152, 158.4, 160.7, 186.9, -6.689, -139.3, 132.5, -204.6, 100.9, -173, -107.6])
BIAS = 0.8324
# One connected piece of ink narrower than this (share of its height, slant taken out) is one
# digit, whatever its cuts score: a touching pair is wider. Chosen on numbers by writers 16-20.
ONE_DIGIT_WIDTH = 0.7
# A candidate holding all the ink (no dot or dash beside it) and narrower than ALL_INK_WIDTH
# scores ALL_INK more. Scores add up along a path, so a wide one-digit picture (a broad 8, a 7
# with a long bar) could read as two good-looking halves; most drawings are one digit, and
# touching pairs score far more as two. Both chosen on numbers by writers 15-20 read by a CNN
# trained without them (`python -m training.number_scorer ... --all-ink [--all-ink-width]`): a
# wider ALL_INK_WIDTH read no more lone digits there, and lost touching pairs.
ALL_INK, ALL_INK_WIDTH = 45.0, 1.0
# A part of one cut component that reads as the whole component reads, with the whole at least
# ECHO_SURE sure, scores ECHO less (`echoes`): it holds the whole digit, and the rest of the ink
# is that digit's too. Else a broad 8 cut near its edge read "83": the big part still an 8, the
# sliver a 3. Chosen on numbers by writers 15-20 read by a CNN trained without them (the same
# command as ALL_INK's with --echo); more, or less sure, lost touching pairs.
ECHO, ECHO_SURE = 45.0, 0.9
# A candidate the segment gate gives under HOPELESS of being one digit was never chosen in the
# training writers' numbers (`bench.numbers --writers train --hopeless 0`), so the network, most
# of a number's read time, skips it; whole components and all the ink are kept for `echoes`.
HOPELESS = 0.01
# Leaving a piece out of every symbol costs this much score (a speck the dust rule missed).
SKIP = 5.55
# Probabilities below this are taken as this, so that one impossible candidate is not -inf.
FLOOR = 1e-6


@dataclass(frozen=True)
class Symbol:
    """One symbol of a number: a digit, "." or "-", where it is and how sure the reader is.

    `box` is (x0, y0, x1, y1) in the picture's pixels (x1, y1 exclusive). `probabilities`
    holds P(digit) for 0-9 and `image` the 28x28 input the network read; both are None for
    "." and "-", which are judged by geometry and count as sure.
    """

    symbol: str
    box: tuple[int, int, int, int]
    probabilities: np.ndarray | None = None
    image: np.ndarray | None = None
    unsure: bool = False
    digit_like: float | None = None

    @property
    def probability(self) -> float:
        return float(self.probabilities.max()) if self.probabilities is not None else 1.0

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The k most likely readings with their probabilities, most likely first."""
        if self.probabilities is None:
            return [(self.symbol, 1.0)]
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(str(d), float(self.probabilities[d])) for d in order]

    def as_json(self) -> dict:
        return {"symbol": self.symbol, "probability": round(self.probability, 6), "box": list(self.box),
                "unsure": self.unsure, "top3": [{"symbol": s, "probability": round(p, 6)} for s, p in self.top(3)]}


@dataclass(frozen=True)
class Reading:
    """A number read from a picture: its symbols left to right; none when the picture is blank."""

    symbols: tuple[Symbol, ...] = ()

    @property
    def text(self) -> str:
        return "".join(s.symbol for s in self.symbols)

    @property
    def blank(self) -> bool:
        return not self.symbols

    @property
    def unsure(self) -> bool:
        return any(s.unsure for s in self.symbols)

    def as_json(self) -> dict:
        """The answer scripts get from /read and `python -m model read --json`."""
        return {"text": self.text, "blank": self.blank, "unsure": self.unsure,
                "symbols": [s.as_json() for s in self.symbols]}


BLANK_READING = Reading()


@dataclass(eq=False)
class Candidate:
    """A run of neighbouring pieces that may be one digit."""

    first: int  # pieces[first:last] in writing order
    last: int
    box: tuple[int, int, int, int]  # in ink-map pixels
    shape: tuple[float, ...]  # its geometric features (see `features`)
    image: np.ndarray | None = None  # its 28x28, None when the recipe finds no digit in it

    def holds_all(self, pieces: list[Piece]) -> bool:
        """Whether it is every one of the picture's `pieces`: all the ink."""
        return self.first == 0 and self.last == len(pieces)

    def whole_component(self, pieces: list[Piece]) -> bool:
        """Whether it is all of one connected component of ink, and nothing else."""
        run = pieces[self.first:self.last]
        return len({p.component for p in run}) == 1 and len(run) == run[0].parts


@dataclass
class Examined:
    """A picture taken apart: its pieces, and every candidate digit with what the networks say."""

    pixels: np.ndarray
    ink: np.ndarray
    lines: Layout
    candidates: list[Candidate]  # those with a 28x28 only
    probabilities: np.ndarray  # len(candidates) x 10
    digit_like: np.ndarray | None  # the gate's, or None without a gate
    whole: np.ndarray | None  # the segment gate's, or None without one
    features: np.ndarray  # len(candidates) x len(FEATURES)


def read_number(classifier, image, hopeless: float = HOPELESS) -> Reading:
    """Read a picture of a number (anything `Classifier.predict` accepts) with `classifier`.

    Raises what `predict` raises for pictures that cannot be read.
    """
    return read_numbers(classifier, [image], hopeless)[0]


def read_numbers(classifier, images: list, hopeless: float = HOPELESS) -> list[Reading]:
    """`read_number` for many pictures, with one forward pass per network for all their candidates
    (the page reads the strokes of a whole class at once)."""
    return [reading_of(examined, classifier) for examined in examine_many(classifier, images, hopeless)]


def reading_of(examined: Examined | None, classifier, weights: np.ndarray = WEIGHTS, bias: float = BIAS,
               skip: float = SKIP, all_ink: float = ALL_INK, all_ink_width: float = ALL_INK_WIDTH,
               echo: float = ECHO) -> Reading:
    """The number in an examined picture: the candidates and marks that cover its pieces with
    the best total score, each candidate scoring as `scores` says, each piece left out costing `skip`."""
    if examined is None:
        return BLANK_READING
    chosen = choose(examined, weights, bias, skip, all_ink, all_ink_width, echo)
    pixels, ink = examined.pixels, examined.ink
    factor = (pixels.shape[0] / ink.shape[0], pixels.shape[1] / ink.shape[1])
    symbols = []
    for item in chosen:
        if isinstance(item, Piece):
            symbols.append(Symbol(item.mark, picture_box(item.box, factor)))
            continue
        row = examined.candidates.index(item)
        p = examined.probabilities[row]
        gate = float(examined.digit_like[row]) if examined.digit_like is not None else None
        unsure = float(p.max()) < classifier.spec.unsure_below or (gate is not None and gate < classifier.gate.threshold)
        symbols.append(Symbol(str(int(np.argmax(p))), picture_box(item.box, factor), p, item.image, bool(unsure), gate))
    return Reading(tuple(symbols))


def choose(examined: Examined, weights: np.ndarray = WEIGHTS, bias: float = BIAS, skip: float = SKIP,
           all_ink: float = ALL_INK, all_ink_width: float = ALL_INK_WIDTH, echo: float = ECHO) -> list:
    """The candidates and marks read, left to right: the whole ink when it is one piece narrow
    enough to be one digit, else the best-scoring path."""
    pieces = examined.lines.pieces
    if len({p.component for p in pieces}) == 1 and not any(p.mark for p in pieces):
        whole = [c for c in examined.candidates if c.holds_all(pieces) and c.shape[1] < ONE_DIGIT_WIDTH]
        if whole:
            return whole
    return best_path(examined.lines, examined.candidates, scores(examined, weights, bias, all_ink, all_ink_width, echo).tolist(), skip)


def scores(examined: Examined, weights: np.ndarray = WEIGHTS, bias: float = BIAS, all_ink: float = ALL_INK,
           all_ink_width: float = ALL_INK_WIDTH, echo: float = ECHO) -> np.ndarray:
    """Each candidate's score: `weights` . features + `bias`, `all_ink` more for one holding all the ink
    and narrower than `all_ink_width`, and `echo` less for one of the `echoes`."""
    result = examined.features @ weights + bias - echo * echoes(examined)
    pieces = examined.lines.pieces
    if not any(p.mark for p in pieces):
        for row, c in enumerate(examined.candidates):
            if c.holds_all(pieces) and c.shape[1] < all_ink_width:
                result[row] += all_ink
    return result


def echoes(examined: Examined) -> np.ndarray:
    """True for each candidate that is a part of one cut component and reads the digit that the
    whole component reads at least ECHO_SURE sure."""
    pieces, candidates = examined.lines.pieces, examined.candidates
    read, sure = examined.probabilities.argmax(axis=1), examined.probabilities.max(axis=1)
    whole_of = {pieces[c.first].component: row for row, c in enumerate(candidates) if c.whole_component(pieces)}
    result = np.zeros(len(candidates), dtype=bool)
    for row, c in enumerate(candidates):
        components = {piece.component for piece in pieces[c.first:c.last]}
        whole = whole_of.get(components.pop()) if len(components) == 1 else None
        result[row] = whole not in (None, row) and read[whole] == read[row] and sure[whole] >= ECHO_SURE
    return result


def examine(classifier, image, hopeless: float = HOPELESS) -> Examined | None:
    """Pieces, candidates, their 28x28s and what the network and the gate make of them, in
    one forward pass each; None when the picture is blank."""
    return examine_many(classifier, [image], hopeless)[0]


def examine_many(classifier, images: list, hopeless: float = HOPELESS) -> list[Examined | None]:
    """`examine` for many pictures: every picture's candidates in one batch through each network,
    the segment gate first, so that those it gives under `hopeless` are never read."""
    found = [taken_apart(image) for image in images]
    drawn = [f for f in found if f is not None]
    if not drawn:
        return [None] * len(images)
    batch = np.stack([c.image for _, _, _, candidates in drawn for c in candidates])
    segments = segment_gate()
    whole = segments.digit_probability(batch) if segments is not None else None
    if whole is not None:
        keep = np.concatenate([[c.holds_all(lines.pieces) or c.whole_component(lines.pieces) for c in candidates]
                               for _, _, lines, candidates in drawn]) | (whole >= hopeless)
        kept = iter(keep)
        for _, _, _, candidates in drawn:
            candidates[:] = [c for c in candidates if next(kept)]
        batch, whole = batch[keep], whole[keep]
    probabilities = classifier.probabilities(batch)
    digit_like = classifier.gate.digit_probability(batch) if classifier.gate is not None else None
    examined, start = [], 0
    for f in found:
        if f is None:
            examined.append(None)
            continue
        pixels, ink, lines, candidates = f
        rows = slice(start, start + len(candidates))
        start = rows.stop
        mine = [None if p is None else p[rows] for p in (probabilities, digit_like, whole)]
        examined.append(Examined(pixels, ink, lines, candidates, *mine, features(candidates, *mine)))
    return examined


def taken_apart(image) -> tuple | None:
    """(pixels, ink map, layout, candidates with their 28x28s) of a picture; None when blank."""
    pixels = read_pixels(image)
    ink = ink_map(pixels) if pixels is not None else None
    lines = layout(ink) if ink is not None else None
    if lines is None:
        return None
    candidates = []
    for c in candidates_of(lines):
        c.image = mnist_crop(ink, lines.labels, lines.pieces[c.first:c.last], c.box, whole=c.holds_all(lines.pieces))
        if c.image is not None:
            candidates.append(c)
    return (pixels, ink, lines, candidates) if candidates else None


@functools.cache
def segment_gate() -> Gate | None:
    """assets/segment_gate.pt, read once; None (logged) when missing or bad: the reader then
    scores candidates without it, and splits worse."""
    try:
        return read_gate(SEGMENT_GATE)
    except WeightsError as error:
        log.warning("No segment gate, so numbers are split on the digit networks and geometry alone: %s", error)
        return None


def candidates_of(lines: Layout) -> list[Candidate]:
    """Every run of neighbouring pieces (no dot or dash among them) that may be one digit: every
    component whole, however wide, and the runs no wider than MAX_WIDTH that `allowed` lets through."""
    pieces, height = lines.pieces, lines.height
    spans: dict[int, list[int]] = {}
    for index, piece in enumerate(pieces):
        spans.setdefault(piece.component, []).append(index)
    widths = {c: max(pieces[i].right for i in s) - min(pieces[i].left for i in s) for c, s in spans.items()}
    runs = {(s[0], s[-1] + 1) for s in spans.values() if s[-1] - s[0] + 1 == len(s) and pieces[s[0]].mark is None}
    for first in range(len(pieces)):
        for last in range(first + 1, min(first + MAX_PIECES, len(pieces)) + 1):
            run = pieces[first:last]
            if run[-1].mark is not None or max(p.right for p in run) - min(p.left for p in run) > MAX_WIDTH * height:
                break
            if linked(run, height) and allowed(run, widths, height):
                runs.add((first, last))
    candidates = []
    for first, last in sorted(runs):
        run = pieces[first:last]
        box = (min(p.box[0] for p in run), min(p.box[1] for p in run), max(p.box[2] for p in run), max(p.box[3] for p in run))
        ink_cut, sides_cut = cut_ink(run)
        shape = ((box[3] - box[1]) / height, (max(p.right for p in run) - min(p.left for p in run)) / height, ink_cut,
                 sides_cut, (box[1] - lines.top) / height, (box[3] - lines.bottom) / height, float(last - first))
        candidates.append(Candidate(first, last, box, shape))
    return candidates


def features(candidates: list[Candidate], probabilities: np.ndarray, digit_like: np.ndarray | None,
             whole: np.ndarray | None) -> np.ndarray:
    """The scorer's inputs, one row per candidate, in the order of FEATURES (a missing gate says 1)."""
    ordered = np.sort(probabilities, axis=1)
    log_p = np.log(np.maximum(ordered[:, -1], FLOOR))
    margin = log_p - np.log(np.maximum(ordered[:, -2], FLOOR))
    log_gate, log_whole = (np.log(np.maximum(p, FLOOR)) if p is not None else np.zeros(len(candidates)) for p in (digit_like, whole))
    shape = np.array([c.shape for c in candidates], np.float64).reshape(len(candidates), 7)
    height, width = shape[:, 0], shape[:, 1]
    # How wide a digit may be depends on the digit: a 1 is a stroke, a 0 is round.
    read_as = np.eye(10)[probabilities.argmax(axis=1)]
    return np.column_stack([log_p, np.minimum(margin, 10.0), log_gate, log_whole, height, (height - 1) ** 2, width, (width - 0.6) ** 2,
                            shape[:, 2], shape[:, 3], shape[:, 4], shape[:, 5], shape[:, 6],
                            read_as * width[:, None], read_as * (width ** 2)[:, None]])


def best_path(lines: Layout, candidates: list[Candidate], scores: list[float], skip: float = SKIP) -> list:
    """The candidates and marks that cover the pieces left to right with the best total score.

    Dynamic programming over the places between pieces: a candidate leads from its first
    piece's place to the place after its last, a dot or dash one place on for nothing, and any
    piece may be left out of every symbol for `skip`, so some path always exists.
    """
    count = len(lines.pieces)
    best = [-math.inf] * (count + 1)
    step: list = [None] * (count + 1)
    best[0] = 0.0
    ending: dict[int, list[tuple[Candidate, float]]] = {}
    for candidate, score in zip(candidates, scores):
        ending.setdefault(candidate.last, []).append((candidate, score))
    for place in range(1, count + 1):
        piece = lines.pieces[place - 1]
        options = [(best[place - 1] + (0.0 if piece.mark else -skip), piece.mark and piece, place - 1)]
        options += [(best[c.first] + score, c, c.first) for c, score in ending.get(place, [])]
        best[place], item, came = max(options, key=lambda o: o[0])
        step[place] = (item, came)
    path, place = [], count
    while place > 0:
        item, place = step[place]
        if item:
            path.append(item)
    return path[::-1]


def picture_box(box: tuple[int, int, int, int], factor: tuple[float, float]) -> tuple[int, int, int, int]:
    """An ink-map box in the picture's own pixels (the ink map of a very large picture is shrunk)."""
    x0, y0, x1, y1 = box
    return (int(x0 * factor[1]), int(y0 * factor[0]), math.ceil(x1 * factor[1]), math.ceil(y1 * factor[0]))
