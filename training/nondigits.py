"""Pictures that are no digit at all, made the way the app would receive them.

The app must not name a digit for noise, a checkerboard, a letter or a scribble. To teach
and to measure that, this module makes such pictures: pen strokes drawn with the app's brush
on a canvas of the app's size (model/canvas.py), at the sizes and places people pick, and
raw pictures (noise, checkerboards, stripes, gradients) as a file upload would bring them.
Every picture then goes through the real preprocessing (`model.preprocess.to_mnist`).

Families (each a function rng -> picture, uint8, black ink on white for pen strokes):

  scribbles  zig-zags, curly loops, hatching (the unsure bench's original three), spirals,
             random walks, crossing-out, crossed lines, a few taps of the pen
  letters    one letter written as pen strokes; letters a person could read as a digit
             (O o I l S s Z z B G g q b J j a d t y Q) are left out
  shapes     triangles, boxes, stars, arrows, hearts, diamonds, hash signs, ticks, asterisks
  blobs      filled polygons and ellipses, splats
  pictures   uniform, Gaussian and salt-and-pepper noise, checkerboards, stripes, gradients,
             at several sizes, densities and periods
  words      two to four letters in a row                      (held out: see HELD_OUT)
  doodles    smileys, houses, suns, fish, flowers, clouds      (held out: see HELD_OUT)

`training/gate.py` trains only on the TRAINING families, with its own seeds;
`bench/unsure_threshold.py` measures on all of them, with other seeds, so the figures
include families the gate never saw.

    python -m training.nondigits    # a contact sheet of every family, as the network sees them: data/nondigits.png
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, Strokes, draw_like_a_person
from model.paths import DATA
from model.preprocess import to_mnist

BOX = 500  # the pen-stroke set's tablet box: scribbles come out at the scales of its digits

# --- Pen strokes ------------------------------------------------------------------------------


def wobble(strokes: Strokes, rng: np.random.Generator, jitter: float = 0.04) -> Strokes:
    """The same strokes as a hand would make them: slanted, stretched and a little shaky.

    A random rotation, shear and aspect change, and Gaussian noise on every point
    (`jitter` times the drawing's size), so no two copies of a template are alike.
    """
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    size = float(np.ptp(points, axis=0).max()) or 1.0
    angle = rng.uniform(-0.25, 0.25)
    shear = rng.uniform(-0.3, 0.3)
    stretch = rng.uniform(0.75, 1.3)
    matrix = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ np.array(
        [[stretch, shear], [0.0, 1.0]]
    )
    out = []
    for stroke in strokes:
        xy = np.asarray(stroke, dtype=np.float64) @ matrix.T + rng.normal(0, jitter * size, (len(stroke), 2))
        out.append([(float(x), float(y)) for x, y in xy])
    return out


def zigzag(rng: np.random.Generator) -> Strokes:
    """A few strokes, each a handful of random points."""
    return [[tuple(p) for p in rng.uniform(0, BOX, (rng.integers(5, 11), 2))] for _ in range(rng.integers(1, 4))]


def loops(rng: np.random.Generator) -> Strokes:
    """One curly stroke: circles drifting across the box."""
    turns = rng.uniform(2, 5)
    t = np.linspace(0, 2 * np.pi * turns, int(24 * turns))
    radius = rng.uniform(40, 100)
    drift = np.linspace(0, rng.uniform(3, 6) * radius, t.size)  # shorter drifts pile up into a blob, an "0"
    angle = rng.uniform(0, np.pi)
    x = radius * np.cos(t) + drift * np.cos(angle)
    y = radius * np.sin(t) + drift * np.sin(angle)
    return [list(zip(x, y))]


def hatching(rng: np.random.Generator) -> Strokes:
    """Parallel-ish lines, like crossing something out."""
    count, slope = rng.integers(3, 7), rng.uniform(-1, 1)
    lines = []
    for i in range(count):
        y0 = i * BOX / count + rng.normal(0, 15)
        lines.append([(0.0, y0), (BOX * rng.uniform(0.6, 1.0), y0 + slope * BOX * 0.5)])
    return lines


def spiral(rng: np.random.Generator) -> Strokes:
    """A spiral of two to five turns, inward or outward."""
    turns = rng.uniform(2, 5)
    t = np.linspace(0, 2 * np.pi * turns, int(20 * turns))
    r = np.linspace(rng.uniform(5, 30), rng.uniform(150, 250), t.size)
    squash = rng.uniform(0.6, 1.0)
    return [list(zip(r * np.cos(t), squash * r * np.sin(t)))]


def random_walk(rng: np.random.Generator) -> Strokes:
    """One long wandering stroke: a smooth random walk with many turns."""
    steps = rng.integers(20, 50)
    heading = np.cumsum(rng.normal(0, 0.7, steps))
    xy = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * rng.uniform(20, 40), axis=0)
    return [[tuple(p) for p in xy]]


def crossing_out(rng: np.random.Generator) -> Strokes:
    """Dense back-and-forth strokes over an area, as when blacking something out."""
    passes = rng.integers(6, 16)
    width, height = rng.uniform(200, 500), rng.uniform(80, 300)
    x = np.where(np.arange(passes) % 2 == 0, 0.0, width) + rng.normal(0, 15, passes)
    y = np.linspace(0, height, passes) + rng.normal(0, 10, passes)
    return [list(zip(x, y))]


def crossed_lines(rng: np.random.Generator) -> Strokes:
    """Three to seven long straight lines at random angles, crossing each other."""
    lines = []
    for _ in range(rng.integers(3, 8)):
        angle = rng.uniform(0, np.pi)
        centre = rng.uniform(100, 400, 2)
        half = rng.uniform(150, 300) * np.array([np.cos(angle), np.sin(angle)])
        lines.append([tuple(centre - half), tuple(centre + half)])
    return lines


def taps(rng: np.random.Generator) -> Strokes:
    """A few taps of the pen (dots), maybe with a short dash or two."""
    strokes: Strokes = [[tuple(rng.uniform(0, BOX, 2))] for _ in range(rng.integers(3, 9))]
    for _ in range(rng.integers(0, 3)):
        start = rng.uniform(0, BOX, 2)
        strokes.append([tuple(start), tuple(start + rng.normal(0, 40, 2))])
    return strokes


SCRIBBLES: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "zigzag": zigzag, "loops": loops, "hatching": hatching, "spiral": spiral,
    "random walk": random_walk, "crossing out": crossing_out, "crossed lines": crossed_lines, "taps": taps,
}

# Letters as pen strokes, written by hand in a box 0-90 wide: capitals 0-120 tall, small
# letters 50-120 (ascenders from 0), y down. Only letters nobody would read as a digit.
LETTERS: dict[str, Strokes] = {
    "A": [[(0, 120), (45, 0), (90, 120)], [(20, 72), (70, 72)]],
    "C": [[(85, 15), (55, 0), (20, 10), (3, 55), (15, 105), (50, 120), (85, 105)]],
    "D": [[(10, 0), (10, 120)], [(10, 0), (55, 5), (85, 35), (88, 85), (60, 115), (10, 120)]],
    "E": [[(80, 0), (5, 0), (5, 120), (80, 120)], [(5, 60), (65, 60)]],
    "F": [[(80, 0), (5, 0), (5, 120)], [(5, 58), (60, 58)]],
    "H": [[(5, 0), (5, 120)], [(85, 0), (85, 120)], [(5, 60), (85, 60)]],
    "K": [[(10, 0), (10, 120)], [(85, 0), (10, 72)], [(35, 52), (90, 120)]],
    "L": [[(8, 0), (8, 120), (80, 120)]],
    "M": [[(0, 120), (10, 0), (45, 70), (80, 0), (90, 120)]],
    "N": [[(5, 120), (5, 0), (85, 120), (85, 0)]],
    "P": [[(10, 120), (10, 0), (60, 3), (85, 25), (80, 52), (50, 62), (10, 60)]],
    "R": [[(10, 120), (10, 0), (60, 3), (85, 25), (80, 52), (50, 62), (10, 60)], [(40, 62), (88, 120)]],
    "T": [[(0, 0), (90, 0)], [(45, 0), (45, 120)]],
    "U": [[(5, 0), (8, 90), (30, 118), (60, 118), (82, 90), (85, 0)]],
    "V": [[(0, 0), (45, 120), (90, 0)]],
    "W": [[(0, 0), (22, 120), (45, 40), (68, 120), (90, 0)]],
    "X": [[(0, 0), (90, 120)], [(90, 0), (0, 120)]],
    "Y": [[(0, 0), (45, 60), (90, 0)], [(45, 60), (45, 120)]],
    "c": [[(70, 60), (45, 50), (15, 62), (8, 90), (22, 115), (48, 120), (72, 110)]],
    "e": [[(10, 85), (75, 85), (72, 62), (45, 50), (15, 62), (8, 95), (35, 120), (75, 112)]],
    "f": [[(75, 10), (55, 0), (40, 10), (35, 120)], [(10, 50), (70, 50)]],
    "h": [[(10, 0), (10, 120)], [(10, 75), (40, 52), (70, 60), (75, 120)]],
    "k": [[(10, 0), (10, 120)], [(70, 55), (10, 95)], [(30, 85), (75, 120)]],
    "m": [[(5, 50), (5, 120)], [(5, 65), (25, 50), (40, 65), (42, 120)], [(42, 65), (62, 50), (80, 65), (82, 120)]],
    "n": [[(5, 50), (5, 120)], [(5, 65), (35, 50), (62, 65), (65, 120)]],
    "r": [[(10, 50), (10, 120)], [(10, 75), (35, 52), (65, 55)]],
    "u": [[(5, 50), (8, 105), (30, 120), (55, 110), (65, 90)], [(65, 50), (67, 120)]],
    "v": [[(0, 50), (35, 120), (70, 50)]],
    "w": [[(0, 50), (18, 120), (38, 70), (58, 120), (76, 50)]],
    "x": [[(0, 50), (65, 120)], [(65, 50), (0, 120)]],
}


def letter(rng: np.random.Generator) -> Strokes:
    """One letter, as a hand would write it."""
    name = list(LETTERS)[rng.integers(len(LETTERS))]
    return wobble(LETTERS[name], rng)


def word(rng: np.random.Generator) -> Strokes:
    """Two to four letters side by side, each wobbling on its own."""
    names = list(LETTERS)
    strokes: Strokes = []
    for i in range(rng.integers(2, 5)):
        shift = np.array([i * rng.uniform(95, 125), rng.normal(0, 5)])
        strokes += [[tuple(np.array(p) + shift) for p in s] for s in wobble(LETTERS[names[rng.integers(len(names))]], rng, 0.03)]
    return strokes


def regular_polygon(corners: int, rng: np.random.Generator, step: int = 1) -> list[tuple[float, float]]:
    """A closed polygon through `corners` points on a circle, visiting every `step`-th."""
    start = rng.uniform(0, 2 * np.pi)
    angles = start + 2 * np.pi * step * np.arange(corners + 1) / corners
    return [(100 * math.cos(a), 100 * math.sin(a)) for a in angles]


SHAPES: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "triangle": lambda rng: [regular_polygon(3, rng)],
    "box": lambda rng: [[(0, 0), (rng.uniform(80, 200), 0), (rng.uniform(80, 200), 100), (0, 100), (0, 0)]],
    "star": lambda rng: [regular_polygon(5, rng, step=2)],
    "arrow": lambda rng: [[(0, 50), (150, 50)], [(110, 15), (150, 50), (110, 85)]],
    "heart": lambda rng: [[(50, 100), (8, 55), (5, 22), (25, 5), (50, 25), (75, 5), (95, 22), (92, 55), (50, 100)]],
    "diamond": lambda rng: [[(50, 0), (90, 60), (50, 120), (10, 60), (50, 0)]],
    "hash": lambda rng: [[(35, 0), (25, 120)], [(75, 0), (65, 120)], [(0, 40), (100, 40)], [(0, 80), (100, 80)]],
    "tick": lambda rng: [[(0, 60), (30, 100), (110, 0)], [(0, 0), (100, 100)]] if rng.random() < 0.3 else [[(0, 60), (30, 100), (110, 0)], [(0, 110), (110, 110)]],
    "asterisk": lambda rng: [[(50, 0), (50, 100)], [(7, 25), (93, 75)], [(93, 25), (7, 75)]],
    "pentagon": lambda rng: [regular_polygon(rng.integers(5, 9), rng)],
}


def shape(rng: np.random.Generator) -> Strokes:
    name = list(SHAPES)[rng.integers(len(SHAPES))]
    return wobble(SHAPES[name](rng), rng, 0.03)


def scribble(rng: np.random.Generator) -> Strokes:
    name = list(SCRIBBLES)[rng.integers(len(SCRIBBLES))]
    return SCRIBBLES[name](rng)


def circle(cx: float, cy: float, r: float, n: int = 24, start: float = 0.0, end: float = 2 * np.pi) -> list[tuple[float, float]]:
    t = np.linspace(start, end, n)
    return list(zip(cx + r * np.cos(t), cy + r * np.sin(t)))


DOODLES: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "smiley": lambda rng: [circle(100, 100, 100), [(65, 70), (66, 72)], [(135, 70), (136, 72)],
                           circle(100, 100, 55, 12, 0.5, np.pi - 0.5)],
    "house": lambda rng: [[(0, 200), (0, 90), (100, 0), (200, 90), (200, 200), (0, 200)], [(80, 200), (80, 130), (120, 130), (120, 200)]],
    "sun": lambda rng: [circle(100, 100, 45)] + [[(100 + 60 * math.cos(a), 100 + 60 * math.sin(a)), (100 + 100 * math.cos(a), 100 + 100 * math.sin(a))]
                                                for a in np.linspace(0, 2 * np.pi, 9)[:-1]],
    "fish": lambda rng: [[(0, 60), (60, 10), (140, 40), (190, 0), (190, 120), (140, 80), (60, 110), (0, 60)], [(35, 50), (36, 52)]],
    "flower": lambda rng: [circle(100, 100, 20, 12)] + [circle(100 + 45 * math.cos(a), 100 + 45 * math.sin(a), 25, 14)
                                                        for a in np.linspace(0, 2 * np.pi, 6)[:-1]] + [[(100, 145), (100, 260)]],
    "cloud": lambda rng: [circle(50, 80, 40, 14, np.pi / 2, 3 * np.pi / 2) + circle(110, 45, 50, 16, np.pi, 2 * np.pi)
                          + circle(170, 80, 40, 14, -np.pi / 2, np.pi / 2) + [(50, 120)]],
}


def doodle(rng: np.random.Generator) -> Strokes:
    name = list(DOODLES)[rng.integers(len(DOODLES))]
    return wobble(DOODLES[name](rng), rng, 0.02)


def pen_family(make: Callable[[np.random.Generator], Strokes]) -> Callable[[np.random.Generator], np.ndarray]:
    """A family of pen-stroke pictures: strokes drawn on the app's canvas at a size and place people pick."""
    return lambda rng: draw_like_a_person(make(rng), rng)


# --- Raw pictures, as an upload would bring them ------------------------------------------------


def blob(rng: np.random.Generator) -> np.ndarray:
    """A filled polygon, ellipse or splat of ink on the app's canvas."""
    canvas = Image.new("L", (CANVAS_SIZE, CANVAS_SIZE), 255)
    pen = ImageDraw.Draw(canvas)
    centre = rng.uniform(0.3, 0.7, 2) * CANVAS_SIZE
    for _ in range(rng.integers(1, 4)):
        corners = rng.integers(3, 12)
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = rng.uniform(0.1, 0.35, corners) * CANVAS_SIZE
        offset = rng.normal(0, 0.08 * CANVAS_SIZE, 2)
        xy = [tuple(centre + offset + r * np.array([math.cos(a), math.sin(a)])) for a, r in zip(angles, radii)]
        if rng.random() < 0.3:
            x, y = centre + offset
            rx, ry = rng.uniform(0.1, 0.35, 2) * CANVAS_SIZE
            pen.ellipse((x - rx, y - ry, x + rx, y + ry), fill=0)
        else:
            pen.polygon(xy, fill=0)
    for _ in range(rng.integers(0, 12)):  # splashes around it
        x, y = centre + rng.normal(0, 0.25 * CANVAS_SIZE, 2)
        r = rng.uniform(2, 2.5 * BRUSH_RADIUS)
        pen.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return np.asarray(canvas)


def raw_picture(rng: np.random.Generator) -> np.ndarray:
    """Noise, a checkerboard, stripes or a gradient, grey or colour, at a random size."""
    sizes = [28, 64, 160, CANVAS_SIZE, 480]
    height = width = int(rng.choice(sizes))
    if rng.random() < 0.3:  # an odd, non-square upload
        width = int(rng.choice(sizes))
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.choice(["uniform noise", "gaussian noise", "salt and pepper", "checkerboard", "stripes", "gradient"])
    if kind == "uniform noise":
        values = rng.uniform(0, 1, (height, width))
    elif kind == "gaussian noise":
        values = rng.uniform(0.2, 0.8) + rng.normal(0, rng.uniform(0.05, 0.4), (height, width))
    elif kind == "salt and pepper":
        values = np.where(rng.random((height, width)) < rng.choice([0.005, 0.02, 0.1, 0.3, 0.5]), 0.0, 1.0)
        if rng.random() < 0.5:
            values = 1.0 - values
    elif kind == "checkerboard":
        period = rng.uniform(2, max(3, min(height, width) / 2))
        angle = rng.choice([0.0, rng.uniform(0, np.pi / 2)])
        u = cols * math.cos(angle) + rows * math.sin(angle)
        v = -cols * math.sin(angle) + rows * math.cos(angle)
        values = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "stripes":
        period = rng.uniform(2, max(3, min(height, width) / 2))
        angle = rng.uniform(0, np.pi)
        values = (np.floor((cols * math.cos(angle) + rows * math.sin(angle)) / period) % 2).astype(np.float32)
    else:  # a linear or radial gradient
        if rng.random() < 0.5:
            angle = rng.uniform(0, 2 * np.pi)
            values = cols * math.cos(angle) + rows * math.sin(angle)
        else:
            values = np.hypot(rows - rng.uniform(0, height), cols - rng.uniform(0, width))
        values = (values - values.min()) / max(float(np.ptp(values)), 1e-6)
    values = np.clip(values, 0, 1)
    if rng.random() < 0.3:  # colour: two random colours mixed by the pattern
        low, high = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        values = low + values[..., None] * (high - low)
    return np.round(values * 255).astype(np.uint8)


# --- All families -------------------------------------------------------------------------------

FAMILIES: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "scribbles": pen_family(scribble),
    "letters": pen_family(letter),
    "shapes": pen_family(shape),
    "blobs": blob,
    "pictures": raw_picture,
    "words": pen_family(word),
    "doodles": pen_family(doodle),
}
# Never shown to the gate in training: the bench's figures on them show whether it
# learned "not a digit" or only the particular non-digits it was trained on.
HELD_OUT = ("words", "doodles")
TRAINING = tuple(name for name in FAMILIES if name not in HELD_OUT)


def pictures(count: int, seed: int, families=tuple(FAMILIES)):
    """Yield `count` (family index, picture) pairs, spread evenly over `families`, as the app receives them."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        family = i % len(families)
        yield family, FAMILIES[families[family]](rng)


def generate(count: int, seed: int, families=tuple(FAMILIES)) -> tuple[np.ndarray, np.ndarray]:
    """`count` non-digits as the network sees them: (N x 28 x 28 float32, N indices into `families`).

    Pictures that the preprocessing already calls blank are left out (a blank answer says
    "no digit" by itself), so N can be a little under `count`.
    """
    images, kinds = [], []
    for family, drawing in pictures(count, seed, families):
        image28 = to_mnist(drawing)
        if image28 is not None:
            images.append(image28)
            kinds.append(family)
    return np.stack(images).astype(np.float32), np.array(kinds)


def contact_sheet(per_family: int = 12, seed: int = 0) -> Image.Image:
    """One row per family of what the network sees, for looking at by eye."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, make in FAMILIES.items():
        tiles = [to_mnist(make(rng)) for _ in range(per_family)]
        rows.append(np.concatenate([t if t is not None else np.zeros((28, 28), np.float32) for t in tiles], axis=1))
    sheet = 1.0 - np.concatenate(rows, axis=0)
    return Image.fromarray(np.round(sheet * 255).astype(np.uint8)).resize((28 * per_family * 3, 28 * len(rows) * 3), Image.NEAREST)


if __name__ == "__main__":
    DATA.mkdir(parents=True, exist_ok=True)
    contact_sheet().save(DATA / "nondigits.png")
    print(f"{DATA / 'nondigits.png'}: rows are {', '.join(FAMILIES)}")
