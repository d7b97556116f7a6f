"""Fine-tuning on a class: the measuring pen-stroke writers play a class that draws on the app's canvas.

Every digit is drawn with the app's brush onto the app's canvas (model.canvas.draw_like_a_person,
seeded) and preprocessed as the app does (to_mnist). Only the measuring writers (21-30 of
model/paths.py, through bench.drawn_digits.load_strokes) play the class; --tune alone reads
training writers, so that no setting is ever chosen on the writers that measure it.

    python -m bench.finetune --repeat 10      # ten classes, each taught as the board's button does
    python -m bench.finetune                  # one big fine-tune: half of each writer's drawings, scored on the rest
    python -m bench.finetune --class-only     # only the click's time for a class of 300
    python -m bench.finetune --class-only --steps 300   # the same with another number of steps

--repeat N: N classes, each of every digit of the measuring writers drawn with its own seed
(its own sizes and places on the pad), labelled in its own random order and numbered from its
own first id (a store that was wiped keeps counting), then taught with teach(): split by id,
fine-tune, measure, save, swap, in a throwaway live folder. Per class it prints whether the
network was swapped in, the held-out errors before and after, MNIST after and the wall time,
then the issue's floors: every class swapped in, each cutting its held-out errors by at least
a third, MNIST >= 99.5 % each time, each click <= 60 s.

--tune: how training/finetune.py's settings were chosen. The shipped networks were trained on
every training writer, so they cannot show what a class of strangers gains. A CNN trained on
writers 01-14 alone can: classes of writers 15-20 are strangers to it, as the measuring writers
are to the shipped CNN. Each TUNE_GRID setting teaches --repeat such classes; the MNIST guard
keeps the shipped network's room (its MNIST less MNIST_FLOOR) above that CNN's own MNIST:

    python train.py --data-dir ../shared/data/mnist --stroke-writers 1-14 --out /tmp/cnn14 --no-plots
    python -m bench.finetune --tune --weights /tmp/cnn14/cnn.pt --repeat 6
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
from model.live import Live
from model.paths import SHARED_STROKES
from model.preprocess import to_mnist
from training.finetune import MNIST_FLOOR, accuracy, finetune, teach
from training.replay import mnist_test_set
from training.strokes import training_digits, writer_range

FLOOR_ERRORS_GONE = 1 / 3  # the floors
FLOOR_SECONDS = 60.0
CLASS_OF = 300  # drawings in the --class-only timing
FIRST_IDS = 100_000  # a class's first id is drawn below this: any store, fresh or long used
TUNE_WRITERS = "15-20"  # --tune's classes: training writers that the --weights CNN was not trained on
# Settings tried by --tune, each on top of training/finetune.py's defaults: the first recipe
# (OLD: 300 steps, 32 replayed digits a step, distillation 1, every drawing as likely to be
# picked), then longer, a higher learning rate, bigger batches, stronger distillation, and
# picking the misread drawings more often (focus) with more replay. That one, at 300 steps,
# was shipped until the held-out errors were found to be cut as well in fewer steps; then it
# at 100 steps and at the shipped 150 ({}). The last two try it longer and with more focus:
# neither cut more errors than one class's noise, so the shipped recipe keeps the quicker lesson.
OLD = {"steps": 300, "replay_batch": 32, "distill": 1.0, "focus": 0.0}
TUNE_GRID = [
    OLD,
    {**OLD, "steps": 600},
    {**OLD, "lr": 2e-3},
    {**OLD, "steps": 600, "class_batch": 64},
    {**OLD, "steps": 600, "distill": 2.0},
    {**OLD, "focus": 10.0},
    {**OLD, "focus": 30.0},
    {**OLD, "focus": 100.0},
    {**OLD, "focus": 10.0, "distill": 2.0},
    {"steps": 300},
    {"steps": 100},
    {},
    {"steps": 450},
    {"steps": 300, "focus": 30.0},
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


def errors(share_right: float, count: int) -> int:
    return round((1 - share_right) * count)


def fine_tune_and_score(shipped, images, labels, train, score, mnist, **settings) -> dict:
    before = accuracy(shipped, images[score], labels[score])
    started, cpu_started = time.perf_counter(), time.process_time()
    tuned = finetune(shipped, images[train], labels[train], **settings)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    after = accuracy(tuned, images[score], labels[score])
    errors_before, errors_after = errors(before, score.sum()), errors(after, score.sum())
    return {**settings, "trained_on": int(train.sum()), "scored_on": int(score.sum()),
            "before": before, "after": after, "errors_before": errors_before, "errors_after": errors_after,
            "errors_gone": 1 - errors_after / max(errors_before, 1),
            "mnist_after": accuracy(tuned, mnist.floats(), mnist.labels), "finetune_seconds": seconds,
            "finetune_cpu_seconds": cpu_seconds}


def click(rows: list, seed: int = 0, shipped: Path | None = None, mnist_floor: float = MNIST_FLOOR, **settings) -> dict:
    """teach() on `rows` with a throwaway live folder, starting from `shipped` (default: the
    shipped CNN): what the board's button does, and its time."""
    with tempfile.TemporaryDirectory() as folder:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = teach(rows, live=Live(folder, shipped=shipped), seed=seed, mnist_floor=mnist_floor, **settings)
        return {**report, "wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}


def as_rows(images: np.ndarray, labels: np.ndarray, first_id: int) -> list[SimpleNamespace]:
    """Labelled drawings as the store gives them, numbered in labelling order from `first_id`."""
    return [SimpleNamespace(id=first_id + i, digit=int(label), image28=image) for i, (image, label) in enumerate(zip(images, labels))]


def a_class(digits: list[dict], seed: int) -> tuple[list[SimpleNamespace], dict]:
    """Every digit drawn with this seed's sizes and places, labelled in this seed's order, from this seed's first id."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))
    first_id = int(rng.integers(1, FIRST_IDS))
    images, labels, _ = draw_class([digits[i] for i in order], seed)
    return as_rows(images, labels, first_id), {"seed": seed, "first_id": first_id, "drawings": len(images)}


def repeat(digits: list[dict], count: int, first_seed: int, mnist_floor: float = MNIST_FLOOR, **teaching) -> dict:
    """`count` classes taught one after another; each one's figures, and whether the floors were met.
    `teaching`: click()'s shipped and settings."""
    classes = []
    for seed in range(first_seed, first_seed + count):
        rows, drawn = a_class(digits, seed)
        result = {**drawn, **click(rows, seed=seed, mnist_floor=mnist_floor, **teaching)}
        result["errors_before"] = errors(result["held_out_before"], result["held_out"])
        result["errors_after"] = errors(result["held_out_after"], result["held_out"])
        result["errors_cut"] = 1 - result["errors_after"] / max(result["errors_before"], 1)
        classes.append(result)
        print(f"class {len(classes):>2} (seed {seed}, ids from {drawn['first_id']}): "
              f"{'swapped in' if result['swapped'] else 'NOT swapped in'}; held out {result['held_out']}: "
              f"{result['errors_before']} -> {result['errors_after']} errors ({result['errors_cut']:.0%} cut); "
              f"MNIST {result['mnist_after']:.2%}; {result['wall_seconds']:.1f} s wall, {result['cpu_seconds']:.1f} s CPU; "
              + "MNIST " + ", ".join(f"{t['mnist']:.2%} at {t['blend']:.0%}" for t in result["tried"])
              + " of the way to the fine-tuned network", flush=True)
    met = {
        "swapped in": sum(c["swapped"] for c in classes),
        f"errors cut by >= {FLOOR_ERRORS_GONE:.0%}": sum(c["errors_cut"] >= FLOOR_ERRORS_GONE for c in classes),
        f"MNIST >= {mnist_floor:.2%}": sum(c["mnist_after"] >= mnist_floor for c in classes),
        f"<= {FLOOR_SECONDS:.0f} s": sum(c["wall_seconds"] <= FLOOR_SECONDS for c in classes),
    }
    print("\n" + "; ".join(f"{name}: {n} of {count}" for name, n in met.items()))
    print("errors cut: " + ", ".join(f"{c['errors_cut']:.0%}" for c in classes)
          + "; MNIST after: " + ", ".join(f"{c['mnist_after']:.2%}" for c in classes))
    # The fine-tuned end of the line is what a fixed recipe, without the blends, would have swapped in.
    whole = sum(c["tried"][0]["mnist"] >= mnist_floor for c in classes)
    print(f"the fine-tuned network itself (blend 100%) passed the MNIST guard in {whole} of {count}")
    print("floors:", "met" if all(n == count for n in met.values()) else "NOT met")
    print(f"held-out errors left, all classes: {sum(c['errors_after'] for c in classes)} of {sum(c['errors_before'] for c in classes)}")
    return {"classes": classes, "met": met, "floors_met": all(n == count for n in met.values())}


def tune(digits: list[dict], weights: Path, count: int, first_seed: int) -> list[dict]:
    """Every TUNE_GRID setting on the same `count` classes, taught to the network of `weights`,
    under a guard that leaves it the shipped CNN's room above MNIST_FLOOR."""
    mnist = mnist_test_set()
    images = mnist.floats()
    room = accuracy(load_classifier(), images, mnist.labels) - MNIST_FLOOR
    floor = accuracy(load_classifier(weights), images, mnist.labels) - room
    print(f"MNIST guard for {weights}: {floor:.2%} (the shipped CNN's room above {MNIST_FLOOR:.1%}: {room:.2%})", flush=True)
    results = []
    for settings in TUNE_GRID:
        print(f"\n{settings}", flush=True)
        outcome = repeat(digits, count, first_seed, mnist_floor=floor, shipped=weights, **settings)
        results.append({"settings": settings, **outcome})
    print("\nsetting: classes cutting a third of their held-out errors; errors left of all; mean wall")
    for result in results:
        classes = result["classes"]
        print(f"{result['settings']}: {sum(c['errors_cut'] >= FLOOR_ERRORS_GONE for c in classes)} of {len(classes)}; "
              f"{sum(c['errors_after'] for c in classes)} of {sum(c['errors_before'] for c in classes)}; "
              f"{np.mean([c['wall_seconds'] for c in classes]):.1f} s")
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, help="folder of pen-stroke .jsonl files")
    parser.add_argument("--seed", type=int, default=0, help="seed for the drawings' sizes and places, the halves, "
                        "and with --repeat the first class's (default: 0)")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--repeat", type=int, default=0, metavar="N", help="teach N classes, each its own ids, order and seed")
    modes.add_argument("--class-only", action="store_true", help=f"only time the whole click for a class of {CLASS_OF}")
    parser.add_argument("--tune", action="store_true", help=f"try TUNE_GRID's settings on --repeat classes (default 6) "
                        f"of training writers {TUNE_WRITERS}, taught to --weights")
    parser.add_argument("--weights", type=Path, default=None, help=f"with --tune: a CNN trained without writers {TUNE_WRITERS}")
    parser.add_argument("--steps", type=int, default=None, help="fine-tune for this many steps instead of "
                        "training/finetune.py's STEPS, to set a recipe's time against the shipped one's (not with --tune)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.tune and (args.weights is None or args.class_only or args.steps is not None):
        parser.error(f"--tune needs --weights, a CNN trained without writers {TUNE_WRITERS} (see above), "
                     "and no --class-only or --steps (TUNE_GRID sets the steps)")
    settings = {} if args.steps is None else {"steps": args.steps}

    digits = training_digits(args.strokes, writer_range(TUNE_WRITERS)) if args.tune else load_strokes(args.strokes)
    if not digits:
        raise SystemExit(f"no pen strokes found in {args.strokes}")
    print(f"torch threads: {torch.get_num_threads()}; {len(digits)} digits by {len({d['writer'] for d in digits})} "
          f"{'training' if args.tune else 'measuring'} writers", flush=True)
    if args.tune:
        report = {"tune": tune(digits, args.weights, args.repeat or 6, args.seed)}
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return report
    if args.repeat:
        report = {"threads": torch.get_num_threads(), **repeat(digits, args.repeat, args.seed, **settings)}
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return report
    if args.class_only:
        chosen = np.random.default_rng(args.seed).choice(len(digits), CLASS_OF, replace=False)
        digits = [digits[i] for i in chosen]
    images, labels, writers = draw_class(digits, args.seed)
    shipped = load_classifier()
    mnist = mnist_test_set()
    train = half_of_each_writer(writers, args.seed)
    print(f"{len(images)} drawings drawn on the app's canvas; MNIST after on the {mnist.source}", flush=True)

    if args.class_only:
        timed = click(as_rows(images, labels, 1), **settings)
        report = {"threads": torch.get_num_threads(), "class_of_300": timed}
        print(f"a class of {len(images)}: the whole click {timed['wall_seconds']:.1f} s wall, {timed['cpu_seconds']:.1f} s of CPU "
              f"on {torch.get_num_threads()} thread(s); held out {timed['held_out_before']:.2%} -> {timed['held_out_after']:.2%}, "
              f"MNIST {timed['mnist_after']:.2%} (floor {FLOOR_SECONDS:.0f} s)")
    else:
        held = ~train
        result = fine_tune_and_score(shipped, images, labels, train, held, mnist, **settings)
        pick = np.random.default_rng(args.seed).choice(np.flatnonzero(train), CLASS_OF, replace=False)
        timed = click(as_rows(images[pick], labels[pick], 1), **settings)
        report = {"drawings": len(images), "writers": len(set(writers)), "mnist_test": mnist.source,
                  "threads": torch.get_num_threads(), **result, "class_of_300": timed}
        print(f"\nfine-tuned on {result['trained_on']} drawings (half of each writer's), "
              f"scored on the other {result['scored_on']}:")
        print(f"  held-out accuracy  {result['before']:.2%} -> {result['after']:.2%}  "
              f"({result['errors_before']} -> {result['errors_after']} errors, {result['errors_gone']:.0%} gone; floor {FLOOR_ERRORS_GONE:.0%})")
        print(f"  MNIST after        {result['mnist_after']:.2%}  (floor {MNIST_FLOOR:.1%})")
        print(f"  fine-tuning        {result['finetune_seconds']:.1f} s wall, {result['finetune_cpu_seconds']:.1f} s of CPU "
              f"on {torch.get_num_threads()} thread(s)  (floor {FLOOR_SECONDS:.0f} s)")
        print(f"a class of {CLASS_OF}: the whole click (split, fine-tune, measure {timed['held_out']} held out and MNIST, "
              f"save, swap) {timed['wall_seconds']:.1f} s wall, {timed['cpu_seconds']:.1f} s of CPU; held out {timed['held_out_before']:.2%} -> {timed['held_out_after']:.2%}, "
              f"MNIST {timed['mnist_after']:.2%}")
        met = (result["errors_gone"] >= FLOOR_ERRORS_GONE and result["mnist_after"] >= MNIST_FLOOR
               and result["finetune_seconds"] <= FLOOR_SECONDS and timed["wall_seconds"] <= FLOOR_SECONDS)
        print("floors:", "met" if met else "NOT met")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
