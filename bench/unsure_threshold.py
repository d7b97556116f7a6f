"""Where the app should stop naming a digit and say it is unsure: the figures behind UNSURE_BELOW.

The app calls a drawing "unsure" when the network's top probability is below a threshold.
Set too low, scribbles that are no digit at all get a confident answer; set too high,
the app doubts digits it reads correctly. This script measures both sides on drawings
made exactly as the app sees them (the app's canvas and brush, sizes and places people pick):

  digits     human pen strokes (../shared/data/strokes), split into read right / read wrong;
  scribbles  random pen strokes that are no digit (zig-zags, loops, hatching), fixed seed.

For each threshold it prints how many of each would be called unsure, and it recommends
the highest threshold that doubts at most --doubt (default 5 %) of the digits read right:
as many scribbles and mistakes caught as that cost allows.

    python -m bench.unsure_threshold                  # the shipped CNN
    python -m bench.unsure_threshold --doubt 0.03     # a stricter cost
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.drawn_digits import STROKES, load_strokes
from model import load_classifier
from model.canvas import draw_like_a_person, sketchpad_value

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
BOX = 500  # the pen-stroke set's tablet box, so scribbles come out at digit-like scales


def scribble(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """Pen strokes that are not a digit: random zig-zags, loops or hatching."""
    kind = rng.choice(["zigzag", "loops", "hatching"])
    if kind == "zigzag":  # a few strokes, each a handful of random points
        return [[tuple(p) for p in rng.uniform(0, BOX, (rng.integers(5, 11), 2))] for _ in range(rng.integers(1, 4))]
    if kind == "loops":  # one curly stroke: circles drifting across the box
        turns = rng.uniform(2, 5)
        t = np.linspace(0, 2 * np.pi * turns, int(24 * turns))
        radius = rng.uniform(40, 100)
        drift = np.linspace(0, rng.uniform(3, 6) * radius, t.size)  # shorter drifts pile up into a blob, an "0"
        angle = rng.uniform(0, np.pi)
        x = radius * np.cos(t) + drift * np.cos(angle)
        y = radius * np.sin(t) + drift * np.sin(angle)
        return [list(zip(x, y))]
    # hatching: parallel-ish lines, like crossing something out
    count, slope = rng.integers(3, 7), rng.uniform(-1, 1)
    lines = []
    for i in range(count):
        y0 = i * BOX / count + rng.normal(0, 15)
        lines.append([(0.0, y0), (BOX * rng.uniform(0.6, 1.0), y0 + slope * BOX * 0.5)])
    return lines


def top_probabilities(classifier, drawings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Top probability and top digit per drawing; blank drawings (no guess) come back as NaN / -1."""
    top, digit = np.full(len(drawings), np.nan), np.full(len(drawings), -1)
    for start in range(0, len(drawings), 256):
        batch = classifier.predict_batch([sketchpad_value(d) for d in drawings[start : start + 256]])
        for i, prediction in enumerate(batch, start):
            if not prediction.blank:
                digit[i], top[i] = prediction.top(1)[0]
    return top, digit


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="a weights file instead of the shipped assets/cnn.pt")
    parser.add_argument("--scribbles", type=int, default=2000, help="how many scribbles to draw (default: 2000)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N human digits (default: all)")
    parser.add_argument("--doubt", type=float, default=0.05, help="the share of correctly read digits the app may doubt (default: 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the scribbles and the drawing sizes and places")
    args = parser.parse_args(argv)

    classifier = load_classifier(args.weights)
    digits = load_strokes(STROKES)
    if not digits:
        raise SystemExit(f"no pen strokes found in {STROKES}")
    digits = digits[: args.limit or None]
    rng = np.random.default_rng(args.seed)
    labels = np.array([d["label"] for d in digits])
    digit_top, digit_guess = top_probabilities(classifier, [draw_like_a_person(d["strokes"], rng) for d in digits])
    scribble_top, _ = top_probabilities(classifier, [draw_like_a_person(scribble(rng), rng) for _ in range(args.scribbles)])

    right = (digit_guess == labels) & ~np.isnan(digit_top)
    wrong = ~right & ~np.isnan(digit_top)
    scribbles = ~np.isnan(scribble_top)  # a blank answer already says "no digit"
    print(f"{len(digits)} human digits ({right.sum()} read right, {wrong.sum()} wrong, {np.isnan(digit_top).sum()} blank), "
          f"{args.scribbles} scribbles ({(~scribbles).sum()} blank), seed {args.seed}, "
          f"{args.weights or 'assets/cnn.pt'}\n")
    print("top probability, median [10 %, 90 %]:")
    for name, values in (("digits read right", digit_top[right]), ("digits read wrong", digit_top[wrong]),
                         ("scribbles", scribble_top[scribbles])):
        if values.size:
            print(f"  {name:<19}{np.median(values):.3f} [{np.quantile(values, 0.1):.3f}, {np.quantile(values, 0.9):.3f}]")

    print(f"\n{'unsure below':>12}{'right doubted':>15}{'wrong caught':>14}{'scribbles caught':>18}{'sure answers right':>20}")
    for threshold in THRESHOLDS:
        sure = ~(digit_top < threshold) & ~np.isnan(digit_top)
        print(f"{threshold:>12.2f}{np.mean(digit_top[right] < threshold):>15.1%}{np.mean(digit_top[wrong] < threshold):>14.1%}"
              f"{np.mean(scribble_top[scribbles] < threshold):>18.1%}{np.mean(right[sure]) if sure.any() else float('nan'):>20.2%}")

    # The highest threshold that doubts at most --doubt of the correct readings, rounded down to 0.05.
    recommended = np.floor(np.quantile(digit_top[right], args.doubt) * 20) / 20
    print(f"\nrecommended: unsure below {recommended:.2f} (doubts {np.mean(digit_top[right] < recommended):.1%} of the digits read right, "
          f"catches {np.mean(digit_top[wrong] < recommended):.1%} of the mistakes and "
          f"{np.mean(scribble_top[scribbles] < recommended):.1%} of the scribbles)")
    return float(recommended)


if __name__ == "__main__":
    main()
