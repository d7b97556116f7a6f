"""Human pen strokes for training: the training writers' digits, drawn on the pad many ways.

    digits = training_digits(SHARED_STROKES)             # writers 01-20 (model/paths.py), never 21-30
    images, labels = render_many(digits, 20000, seed=1)  # N x 28 x 28 float32, each through to_mnist
    strokes = StrokeDigits.prepare(...)                  # what train.py mixes into its MNIST batches

Each rendering is one way a person might have drawn that digit on the app's pad: the
strokes bent a little by a smooth elastic field, each stroke moved, turned and scaled a
little on its own (a 7's bar, a 4's second stroke), the whole digit slanted, turned and
stretched, sampled as a faster or slower hand leaves points, then drawn with a brush of
varying width at a size and place people pick (model/canvas.py) and read by the same
`to_mnist` a drawing goes through. So 20 writers become many, and what is learnt is what
the app will see. Every rendering is seeded by (seed, digit, variant) alone, so a seed
gives the same pictures whatever the number of worker processes.

The measuring writers are read only by `measuring_digits`, for the benches.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Collection, NamedTuple

import numpy as np
import torch

from model.canvas import draw_like_a_person
from model.paths import MEASURING_WRITERS, TRAINING_WRITERS
from model.preprocess import to_mnist

# Per rendering, each drawn uniformly from these ranges (sizes relative to the digit's longer side).
BRUSH_RADIUS = (4.0, 12.0)  # px on the 320 px pad (the app's brush is 8): thin pens to fat fingers
ELASTIC_BUMPS = 4  # the elastic field: this many Gaussian bumps ...
ELASTIC_WIDTH = 0.3  # ... this wide ...
ELASTIC_PUSH = 0.04  # ... each pushing by a normal draw of this std
STROKE_ROTATION_DEGREES = 6  # each stroke on its own, about its own centre
STROKE_SCALE = (0.92, 1.08)
STROKE_SHIFT = 0.04
ROTATION_DEGREES = 8  # the whole digit
SLANT = 0.3  # x moved by -0.3..0.3 times the height above the middle
ASPECT = (0.8, 1.2)  # width stretched by this
SPEED = (1.0, 3.0)  # a faster hand: the pad gets one point every this many recorded ones

# The largest number of different renderings of one stroke digit kept for a training run.
MAX_VARIANTS = 4

Strokes = list[list[tuple[float, float]]]


# --- Reading: the split of model/paths.py, applied in one place ------------------------------------


def load_strokes(folder: Path, writers: Collection[str]) -> list[dict]:
    """The digits of `writers` in every .jsonl file of `folder`: {"label", "writer", "strokes"}, in file order."""
    writers = set(writers)
    digits = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        with path.open() as lines:
            digits += [digit for digit in map(json.loads, filter(str.strip, lines)) if digit["writer"] in writers]
    return digits


class NotTrainingWriters(ValueError, argparse.ArgumentTypeError):
    """Writers outside model/paths.py's TRAINING_WRITERS were asked to be trained on."""


def training_digits(folder: Path, writers: Collection[str] = TRAINING_WRITERS) -> list[dict]:
    """The training writers' digits (or some of them, for tuning with writers held out); never a measuring writer's."""
    return load_strokes(folder, only_training(writers))


def only_training(writers: Collection[str]) -> Collection[str]:
    foreign = sorted(set(writers) - set(TRAINING_WRITERS))
    if foreign:
        raise NotTrainingWriters(f"not training writers: {', '.join(foreign)}; only {TRAINING_WRITERS[0]} .. "
                                 f"{TRAINING_WRITERS[-1]} may be trained on")
    return writers


def measuring_digits(folder: Path) -> list[dict]:
    """The measuring writers' digits (21-30): what every figure on drawn digits is measured on."""
    return load_strokes(folder, MEASURING_WRITERS)


def writer_range(text: str) -> tuple[str, ...]:
    """Training writers from "1-16" or "1,3,17-20" (numbers as in pendigits-tra-wNN); an argparse type."""
    numbers = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        numbers += range(int(low), int(high or low) + 1)
    return tuple(only_training([f"pendigits-tra-w{n:02d}" for n in numbers]))


# --- Rendering ------------------------------------------------------------------------------------


def vary(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """The same digit as another hand might draw it (see the module docstring), as new strokes."""
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    low, high = points.min(axis=0), points.max(axis=0)
    size = max(float((high - low).max()), 1.0)
    middle = (low + high) / 2

    centres = rng.uniform(low, high, (ELASTIC_BUMPS, 2))
    pushes = rng.normal(0.0, ELASTIC_PUSH * size, (ELASTIC_BUMPS, 2))

    def bend(xy):  # a smooth field: near points move together, so strokes stay joined where they touch
        weights = np.exp(-((xy[:, None, :] - centres) ** 2).sum(-1) / (2 * (ELASTIC_WIDTH * size) ** 2))
        return xy + weights @ pushes

    angle = math.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    whole = rotation(angle) @ np.array([[rng.uniform(*ASPECT), rng.uniform(-SLANT, SLANT)], [0.0, 1.0]])
    speed = rng.uniform(*SPEED)
    varied = []
    for stroke in strokes:
        xy = bend(np.asarray(stroke, dtype=np.float64))
        centre = xy.mean(axis=0)
        own = rotation(math.radians(rng.uniform(-STROKE_ROTATION_DEGREES, STROKE_ROTATION_DEGREES))) * rng.uniform(*STROKE_SCALE)
        xy = (xy - centre) @ own.T + centre + rng.uniform(-STROKE_SHIFT, STROKE_SHIFT, 2) * size
        xy = (xy - middle) @ whole.T
        # Points a hand moving `speed` times faster leaves, joined by straight lines as on the pad.
        times = np.append(np.arange(0.0, len(xy) - 1, speed), len(xy) - 1)
        xy = np.stack([np.interp(times, np.arange(len(xy)), xy[:, axis]) for axis in (0, 1)], axis=1)
        varied.append([(float(x), float(y)) for x, y in xy])
    return varied


def rotation(angle: float) -> np.ndarray:
    return np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


def render(strokes: Strokes, rng: np.random.Generator) -> np.ndarray:
    """One rendering of a stroke digit: varied, drawn on the pad with a random brush, then `to_mnist`; 28 x 28 float32."""
    while True:  # a variation that leaves no readable digit (never seen, but possible) is drawn again
        canvas = draw_like_a_person(vary(strokes, rng), rng, brush_radius=rng.uniform(*BRUSH_RADIUS))
        image28 = to_mnist(canvas)
        if image28 is not None:
            return image28


def render_job(job: tuple[Strokes, tuple[int, int, int]]) -> np.ndarray:
    strokes, key = job
    return render(strokes, np.random.default_rng(key))


def render_many(digits: list[dict], count: int, seed: int, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`count` renderings, cycling through the digits in a seeded order: each digit once before any twice.

    Rendering i is seeded by (seed, digit, variant) only, so the same seed gives the same
    pictures for any `workers` (processes; default: one per CPU core, 1 renders in this one).
    """
    if not digits or count <= 0:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
    order = np.random.default_rng(seed).permutation(len(digits))
    picked = [int(order[i % len(digits)]) for i in range(count)]
    jobs = [(digits[d]["strokes"], (seed, d, i // len(digits))) for i, d in enumerate(picked)]
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        images = [render_job(job) for job in jobs]
    else:
        # spawn, not fork: the caller may already run torch's threads, which a fork would copy half-alive.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            images = list(pool.map(render_job, jobs, chunksize=max(1, count // (8 * workers))))
    return np.stack(images).astype(np.float32), np.array([digits[d]["label"] for d in picked], np.int64)


# --- Mixing into training ---------------------------------------------------------------------------


class StrokeDigits(NamedTuple):
    """Renderings of stroke digits kept in memory for a training run, and how many go into each epoch."""

    images: torch.Tensor  # N x 1 x 28 x 28 in [0, 1]
    labels: torch.Tensor
    per_epoch: int
    writers: tuple[str, ...]
    digits: int  # stroke digits rendered from

    @classmethod
    def prepare(cls, digits: list[dict], share: float, mnist_per_epoch: int, epochs: int, seed: int,
                variants: int = MAX_VARIANTS, workers: int | None = None) -> StrokeDigits:
        """Enough renderings for `share` of every epoch's images, at most `variants` of each digit."""
        per_epoch = round(mnist_per_epoch * share / (1 - share))
        count = min(per_epoch * epochs, variants * len(digits))
        images, labels = render_many(digits, count, seed, workers)
        return cls(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels), per_epoch,
                   tuple(sorted({d["writer"] for d in digits})), len(digits))

    def mix(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch's images: all of `images`, and `per_epoch` renderings, each different while there are enough."""
        if self.per_epoch <= len(self.images):
            pick = torch.randperm(len(self.images), generator=generator)[: self.per_epoch]
        else:
            pick = torch.randint(len(self.images), (self.per_epoch,), generator=generator)
        return torch.cat([images, self.images[pick]]), torch.cat([labels, self.labels[pick]])

    def record(self) -> dict:
        """What the weights' metadata says about them."""
        return {"writers": list(self.writers), "digits": self.digits, "renderings": len(self.images), "per_epoch": self.per_epoch}
