"""How well whole handwritten numbers are read: the number reader against connected components.

The numbers are written from pen strokes by training/numbers.py: each by one writer in that
writer's own digits, on a baseline, slanted a little, spaced from wide to touching, drawn with
the app's brush. Kinds: spaced (2-5 digits, gaps of 15-60 % of the digit height), close (gaps of
0-12 %: slanted neighbours overlap in x), touching (2-3 digits whose inks run into each other),
decimal (3.14, 0.5), negative (-42), single.

Every number is read in the same run by the number reader (model/number.py) and by the
components baseline: ink components, those overlapping in x merged, each read alone (dots and
dashes judged by the reader's own geometry, so only the splitting differs); each lone digit
also by Classifier.predict, which the reader must match. Then the server-side time to read a
1-digit and a 6-digit number on the same wide pad (p50).

    python -m bench.numbers                      # the measuring writers (21-30): the figures to report
    python -m bench.numbers --writers train      # writers 01-20: the only numbers to tune on
    python -m bench.numbers --per-kind 50 --show 5   # fewer, and print some misreadings
    python -m bench.numbers --writers train --hopeless 0   # the network reads every candidate
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch

from model import load_classifier
from model.canvas import sketchpad_value
from model.ink import ink_map
from model.number import HOPELESS, read_number
from model.picture import read_pixels
from model.preprocess import mnist_crop
from model.segment import layout
from model.paths import SHARED_STROKES
from model.registry import DEFAULT, NETWORKS
from training.numbers import KINDS, Strokes, by_writer, make_numbers, split_right, write_number
from training.strokes import measuring_digits, training_digits

def read_components(classifier, picture) -> str:
    """The baseline: ink components, those overlapping in x on the page merged, each read alone;
    dots and dashes judged as the reader judges them."""
    ink = ink_map(read_pixels(picture))
    lines = layout(ink, cut=False) if ink is not None else None
    if lines is None:
        return ""
    groups: list[list] = []
    for piece in sorted(lines.pieces, key=lambda p: p.box[0]):
        if piece.mark is None and groups and groups[-1][0].mark is None and piece.box[0] < max(p.box[2] for p in groups[-1]):
            groups[-1].append(piece)
        else:
            groups.append([piece])
    texts, images = [], []
    for group in groups:
        if group[0].mark is not None:
            texts.append(group[0].mark)
            continue
        box = (min(p.box[0] for p in group), min(p.box[1] for p in group), max(p.box[2] for p in group), max(p.box[3] for p in group))
        image = mnist_crop(ink, lines.labels, group, box, whole=len(group) == len(lines.pieces))
        if image is not None:
            texts.append(None)
            images.append(image)
    if images:
        digits = iter(classifier.probabilities(np.stack(images)).argmax(axis=1))
        texts = [text if text is not None else str(next(digits)) for text in texts]
    return "".join(texts)


def timing(classifier, writers: dict[str, dict[int, list[Strokes]]], repeats: int, seed: int,
           hopeless: float = HOPELESS) -> dict[int, float]:
    """Server-side p50 ms to read a 1-digit and a 6-digit number (close-spaced), as Sketchpad
    values on the same pad: wide enough for the six digits. The writers take turns: how often
    close digits touch, and so how many cuts are tried, is a writer's habit."""
    rng = np.random.default_rng(seed)
    pictures = {n: [] for n in (1, 6)}
    names = sorted(writers)
    for i in range(repeats):
        samples = writers[names[i % len(names)]]
        six = write_number("".join(str(d) for d in rng.integers(0, 10, 6)), samples, "close", rng).picture
        one = write_number(str(int(rng.integers(10))), samples, "single", rng).picture
        pad = np.full((max(six.shape[0], one.shape[0]), max(six.shape[1], one.shape[1])), 255, np.uint8)
        for n, picture in ((6, six), (1, one)):
            canvas = pad.copy()
            canvas[: picture.shape[0], : picture.shape[1]] = picture
            pictures[n].append(sketchpad_value(canvas))
    results = {}
    for n, values in pictures.items():
        read_number(classifier, values[0], hopeless)  # warm
        times = []
        for value in values:
            start = time.perf_counter()
            read_number(classifier, value, hopeless)
            times.append(time.perf_counter() - start)
        results[n] = 1000 * float(np.median(times))
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", choices=("measure", "train"), default="measure",
                        help="measure: writers 21-30, the figures to report; train: writers 01-20, for tuning")
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped network (default: {DEFAULT})")
    parser.add_argument("--per-kind", type=int, default=300, help="numbers of each kind (default: 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=60, help="numbers timed of each length (default: 60)")
    parser.add_argument("--show", type=int, default=0, help="print this many misreadings per kind")
    parser.add_argument("--hopeless", type=float, default=HOPELESS,
                        help=f"the network skips candidates the segment gate gives under this (default: the reader's {HOPELESS:g}; "
                             "0 reads them all, to see what skipping saves and costs)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the app serves

    digits = measuring_digits(SHARED_STROKES) if args.writers == "measure" else training_digits(SHARED_STROKES)
    if not digits:
        raise SystemExit(f"no pen strokes found in {SHARED_STROKES}")
    classifier = load_classifier(arch=args.arch)
    numbers = make_numbers(digits, args.per_kind, args.seed)
    right = {"reader": defaultdict(int), "split": defaultdict(int), "components": defaultdict(int)}
    predicted = 0  # lone digits that Classifier.predict reads right: the reader must match it
    wrong: dict[str, list[str]] = defaultdict(list)
    for kind, writer, text, written in numbers:
        reading = read_number(classifier, written.picture, args.hopeless)
        right["reader"][kind] += reading.text == text
        right["split"][kind] += split_right(reading, written)
        right["components"][kind] += read_components(classifier, written.picture) == text
        if kind == "single":
            predicted += str(classifier.predict(written.picture).top(1)[0][0]) == text
        if reading.text != text and len(wrong[kind]) < args.show:
            wrong[kind].append(f"{text} read {reading.text or '(blank)'} ({writer.rsplit('-', 1)[-1]})")
    writers = sorted({writer for _, writer, _, _ in numbers})
    print(f"{len(numbers)} numbers by {len(writers)} writers ({args.writers}: {writers[0].rsplit('-', 1)[-1]}-"
          f"{writers[-1].rsplit('-', 1)[-1]}), {args.arch}, seed {args.seed}\n")
    print("read exactly: the whole number right; split right: the reader's symbols are the number's, one box each\n")
    print(f"{'kind':<10}{'reader':>9}{'split right':>13}{'components':>12}")
    report = {"writers": args.writers, "arch": args.arch, "seed": args.seed, "per_kind": args.per_kind, "kinds": {}}
    for kind in KINDS:
        reader, split, components = (right[name][kind] / args.per_kind for name in ("reader", "split", "components"))
        report["kinds"][kind] = {"reader": reader, "split_right": split, "components": components}
        print(f"{kind:<10}{reader:>9.1%}{split:>13.1%}{components:>12.1%}")
    report["single_predict"] = predicted / args.per_kind
    print(f"\nsingle digits read right by Classifier.predict on the whole picture: {predicted / args.per_kind:.1%}")
    for kind, lines in ((kind, lines) for kind, lines in wrong.items() if lines):  # the misreadings --show asked for
        print(f"\n{kind}: " + "; ".join(lines))
    times = timing(classifier, by_writer(digits), args.repeats, args.seed, args.hopeless)
    report["p50_ms"] = times
    print(f"\nserver-side read, p50 over {args.repeats} numbers on the same pad: 1 digit {times[1]:.1f} ms, "
          f"6 digits {times[6]:.1f} ms (x{times[6] / times[1]:.2f})")
    return report


if __name__ == "__main__":
    main()
