"""Fine-tuning on a class: the 30 pen-stroke writers play a class that draws on the app's canvas.

Every digit of ../shared/data/strokes is drawn with the app's brush onto the app's canvas
(model.canvas.draw_like_a_person, fixed seed) and preprocessed as the app does (to_mnist).
Half of each writer's drawings are the class's labelled drawings to learn from; the other
half are held out and never trained on. It reports, for the shipped CNN fine-tuned by
training/finetune.py with its default settings:

  - accuracy on the held-out half before and after, and how many of its errors went;
  - MNIST test accuracy after (the full test set when ../shared/data/mnist is there);
  - the wall time of the fine-tuning, and of a whole "teach it" click for a class of 300
    labelled drawings (split, fine-tune, measure, save and swap in), as the board runs it.

    python -m bench.finetune                  # the figures in the README
    python -m bench.finetune --tune           # how the settings were chosen: on the training half only
    python -m bench.finetune --class-only     # only the click's time for a class of 300 (draws only those)

--tune splits the TRAINING half again (half of each writer's training drawings to fine-tune
on, the other half to score) and tries a few settings there; the held-out half plays no part.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from bench.drawn_digits import load_strokes
from model import load_classifier
from model.canvas import draw_like_a_person
from training.finetune import STEPS, accuracy, finetune, teach
from model.live import Live
from model.paths import SHARED_STROKES
from model.preprocess import to_mnist
from training.replay import mnist_test_set

FLOOR_ERRORS_GONE = 1 / 3  # the floors
FLOOR_MNIST = 0.995
FLOOR_SECONDS = 60.0
CLASS_OF = 300  # drawings in the "whole click" timing
# Settings tried by --tune, chosen by reasoning about the time budget (steps x batch) and the
# usual fine-tuning learning rates (a tenth of training's peak of 4e-3, or a quarter).
TUNE_GRID = [
    {"steps": STEPS, "lr": 3e-4},
    {"steps": STEPS, "lr": 1e-3},
]


def draw_class(digits: list[dict], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images N x 28 x 28, labels, writers) for every digit drawn on the app's canvas; blanks dropped."""
    rng = np.random.default_rng(seed)
    images, labels, writers = [], [], []
    for digit in digits:
        image28 = to_mnist(draw_like_a_person(digit["strokes"], rng))
        if image28 is not None:
            images.append(image28)
            labels.append(digit["label"])
            writers.append(digit["writer"])
    return np.stack(images), np.array(labels), np.array(writers)


def half_of_each_writer(writers: np.ndarray, seed: int) -> np.ndarray:
    """A mask: a random half (rounded down) of each writer's drawings is True."""
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(writers), dtype=bool)
    for writer in np.unique(writers):
        mine = rng.permutation(np.flatnonzero(writers == writer))
        chosen[mine[: len(mine) // 2]] = True
    return chosen


def fine_tune_and_score(shipped, images, labels, train, score, mnist, **settings) -> dict:
    before = accuracy(shipped, images[score], labels[score])
    started, cpu_started = time.perf_counter(), time.process_time()
    tuned = finetune(shipped, images[train], labels[train], **settings)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    after = accuracy(tuned, images[score], labels[score])
    errors_before, errors_after = round((1 - before) * score.sum()), round((1 - after) * score.sum())
    return {**settings, "trained_on": int(train.sum()), "scored_on": int(score.sum()),
            "before": before, "after": after, "errors_before": errors_before, "errors_after": errors_after,
            "errors_gone": 1 - errors_after / max(errors_before, 1),
            "mnist_after": accuracy(tuned, mnist.floats(), mnist.labels), "finetune_seconds": seconds,
            "finetune_cpu_seconds": cpu_seconds}


def time_a_class_click(images, labels, count: int, seed: int) -> dict:
    """teach() on `count` drawings with a throwaway live folder: what the board's button costs."""
    pick = np.random.default_rng(seed).choice(len(images), count, replace=False)
    rows = [SimpleNamespace(id=int(i), digit=int(labels[i]), image28=images[i]) for i in pick]
    with tempfile.TemporaryDirectory() as folder:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = teach(rows, live=Live(folder))
        return {**report, "wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, help="folder of pen-stroke .jsonl files")
    parser.add_argument("--seed", type=int, default=0, help="seed for the drawings' sizes and places and for the halves (default: 0)")
    parser.add_argument("--tune", action="store_true", help="compare settings on a split of the training half instead")
    parser.add_argument("--class-only", action="store_true", help=f"only time the whole click for a class of {CLASS_OF} (quick to rerun on a quiet machine)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    digits = load_strokes(args.strokes)
    if not digits:
        raise SystemExit(f"no pen strokes found in {args.strokes}")
    if args.class_only:
        chosen = np.random.default_rng(args.seed).choice(len(digits), CLASS_OF, replace=False)
        digits = [digits[i] for i in chosen]
    print(f"torch threads: {torch.get_num_threads()}; drawing {len(digits)} digits on the app's canvas ...", flush=True)
    images, labels, writers = draw_class(digits, args.seed)
    shipped = load_classifier()
    mnist = mnist_test_set()
    train = half_of_each_writer(writers, args.seed)
    print(f"{len(images)} drawings by {len(set(writers))} writers; MNIST after on the {mnist.source}", flush=True)

    if args.class_only:
        click = time_a_class_click(images, labels, len(images), args.seed)
        report = {"threads": torch.get_num_threads(), "class_of_300": click}
        print(f"a class of {len(images)}: the whole click {click['wall_seconds']:.1f} s wall, {click['cpu_seconds']:.1f} s of CPU "
              f"on {torch.get_num_threads()} thread(s); held out {click['held_out_before']:.2%} -> {click['held_out_after']:.2%}, "
              f"MNIST {click['mnist_after']:.2%} (floor {FLOOR_SECONDS:.0f} s)")
    elif args.tune:
        inner = np.zeros(len(images), dtype=bool)
        inner[np.flatnonzero(train)[half_of_each_writer(writers[train], args.seed + 1)]] = True
        score = train & ~inner
        results = []
        for settings in TUNE_GRID:
            result = fine_tune_and_score(shipped, images, labels, inner, score, mnist, **settings)
            results.append(result)
            print(f"steps {result['steps']:>4} lr {result['lr']:.0e}: {result['before']:.2%} -> {result['after']:.2%} "
                  f"({result['errors_before']} -> {result['errors_after']} errors), MNIST {result['mnist_after']:.2%}, "
                  f"{result['finetune_seconds']:.1f} s", flush=True)
        report = {"tune": results}
    else:
        held = ~train
        result = fine_tune_and_score(shipped, images, labels, train, held, mnist)
        click = time_a_class_click(images[train], labels[train], CLASS_OF, args.seed)
        report = {"drawings": len(images), "writers": len(set(writers)), "mnist_test": mnist.source,
                  "threads": torch.get_num_threads(), **result, "class_of_300": click}
        print(f"\nfine-tuned on {result['trained_on']} drawings (half of each writer's), "
              f"scored on the other {result['scored_on']}:")
        print(f"  held-out accuracy  {result['before']:.2%} -> {result['after']:.2%}  "
              f"({result['errors_before']} -> {result['errors_after']} errors, {result['errors_gone']:.0%} gone; floor {FLOOR_ERRORS_GONE:.0%})")
        print(f"  MNIST after        {result['mnist_after']:.2%}  (floor {FLOOR_MNIST:.1%})")
        print(f"  fine-tuning        {result['finetune_seconds']:.1f} s wall, {result['finetune_cpu_seconds']:.1f} s of CPU "
              f"on {torch.get_num_threads()} thread(s)  (floor {FLOOR_SECONDS:.0f} s)")
        print(f"a class of {CLASS_OF}: the whole click (split, fine-tune, measure {click['held_out']} held out and MNIST, "
              f"save, swap) {click['wall_seconds']:.1f} s wall, {click['cpu_seconds']:.1f} s of CPU; held out {click['held_out_before']:.2%} -> {click['held_out_after']:.2%}, "
              f"MNIST {click['mnist_after']:.2%}")
        met = (result["errors_gone"] >= FLOOR_ERRORS_GONE and result["mnist_after"] >= FLOOR_MNIST
               and result["finetune_seconds"] <= FLOOR_SECONDS and click["wall_seconds"] <= FLOOR_SECONDS)
        print("floors:", "met" if met else "NOT met")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
