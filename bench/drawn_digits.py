"""How well the whole path reads real human handwriting drawn onto the app's canvas.

Each digit of the measuring writers of the pen-stroke set (../shared/data/strokes, writers
21-30 of model/paths.py; nothing trains or tunes on them) is drawn with the app's brush onto
a canvas of the app's size, at a size and place a person might pick (small to large, often
off-centre; fixed seed), then read through canvas -> preprocessing -> model. It reports
top-1, top-3 and the worst writer. In the same run, the same canvases go through two weaker
paths for contrast:

  naive resize      the whole canvas shrunk to 28x28 and inverted, as most demos do;
  no stroke width   the MNIST recipe without the stroke-width normalisation.

    python -m bench.drawn_digits                 # the shipped CNN
    python -m bench.drawn_digits --arch mlp      # the shipped MLP (any name in model/registry.py)
    python -m bench.drawn_digits --by-writer     # also each writer's top-1 and most common confusion
    python -m bench.drawn_digits --record        # also keep the figure in the weights file (the compare view shows it)
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from model import load_classifier
from model.canvas import CANVAS_SIZE, draw_like_a_person, sketchpad_value
from model.paths import SHARED_STROKES
from model.preprocess import naive_resize, to_mnist
from model.registry import DEFAULT, NETWORKS, spec
from model.weights import load_weights, save_weights
from training.strokes import measuring_digits as load_strokes  # every bench's drawn digits: writers 21-30 only


def record(path: Path, facts: dict) -> None:
    """Add `facts` to a weights file's metadata, the weights unchanged, written atomically."""
    network, metadata = load_weights(path)
    save_weights(path, network, {**metadata, **facts})


def score(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Top-1 and top-3 accuracy; a blank answer (NaN row) counts as wrong."""
    probabilities = np.nan_to_num(probabilities, nan=-1.0)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    return float((top3[:, 0] == labels).mean()), float((top3 == labels[:, None]).any(axis=1).mean())


def mistakes(labels: np.ndarray, probabilities: np.ndarray) -> Counter:
    """How often each digit was read as each other one: {"7->2": count}; a blank answer reads "blank"."""
    guesses = ["blank" if np.isnan(row[0]) else str(int(row.argmax())) for row in probabilities]
    return Counter(f"{label}->{guess}" for label, guess in zip(labels, guesses) if guess != str(label))


def short(writer: str) -> str:
    """"pendigits-tra-w21" -> "w21"."""
    return writer.rsplit("-", 1)[-1]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, help="folder of pen-stroke .jsonl files")
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped weights to use (default: {DEFAULT})")
    parser.add_argument("--weights", default=None, help="a weights file instead of the shipped one")
    parser.add_argument("--seed", type=int, default=0, help="seed for the sizes and places of the drawings")
    parser.add_argument("--limit", type=int, default=0, help="only the first N digits (default: all)")
    parser.add_argument("--by-writer", action="store_true", help="also print each writer's top-1 and most common confusion")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--record", action="store_true",
                        help="write the whole path's top-1 into the weights file's metadata as drawn_accuracy (all digits only)")
    args = parser.parse_args(argv)
    if args.record and args.limit:
        parser.error("--record measures every digit: leave out --limit")

    digits = load_strokes(args.strokes)
    if not digits:
        raise SystemExit(f"no pen strokes found in {args.strokes}")
    if args.limit:
        digits = digits[: args.limit]
    classifier = load_classifier(args.weights, arch=args.arch)
    rng = np.random.default_rng(args.seed)
    labels = np.array([d["label"] for d in digits])
    writers = np.array([d["writer"] for d in digits])

    paths = {"whole path": [], "no stroke width": [], "naive resize": []}
    for digit in digits:
        canvas = draw_like_a_person(digit["strokes"], rng)
        paths["whole path"].append(classifier.predict(sketchpad_value(canvas)).probabilities)
        paths["no stroke width"].append(to_mnist(canvas, normalize_stroke=False))
        paths["naive resize"].append(naive_resize(canvas))
    blank_row = np.full(10, np.nan, np.float32)
    results = {"whole path": np.stack([p if p is not None else blank_row for p in paths["whole path"]])}
    for name in ("no stroke width", "naive resize"):
        images = paths[name]
        drawn = [i for i, image in enumerate(images) if image is not None]
        probabilities = np.tile(blank_row, (len(images), 1))
        probabilities[drawn] = classifier.probabilities(np.stack([images[i] for i in drawn]))
        results[name] = probabilities

    report = {"digits": len(digits), "writers": len(set(writers)), "canvas": CANVAS_SIZE,
              "weights": args.weights or f"assets/{NETWORKS[args.arch].weights.name}", "seed": args.seed, "paths": {}}
    print(f"{len(digits)} digits by {len(set(writers))} writers on a {CANVAS_SIZE}x{CANVAS_SIZE} canvas, "
          f"{report['weights']}, seed {args.seed}\n")
    print(f"{'path':<18}{'top-1':>8}{'top-3':>8}{'worst writer':>14}{'blank':>7}")
    for name, probabilities in results.items():
        top1, top3 = score(probabilities, labels)
        per_writer = {w: score(probabilities[writers == w], labels[writers == w])[0] for w in sorted(set(writers))}
        blanks = int(np.isnan(probabilities[:, 0]).sum())
        report["paths"][name] = {"top1": top1, "top3": top3, "blank": blanks, "per_writer_top1": per_writer}
        print(f"{name:<18}{top1:>8.2%}{top3:>8.2%}{min(per_writer.values()):>14.2%}{blanks:>7}")

    whole = results["whole path"]
    per_writer = report["paths"]["whole path"]["per_writer_top1"]
    worst = min(per_writer, key=per_writer.get)
    print(f"\nwhole path: worst writer {short(worst)} {per_writer[worst]:.2%}; most common mistakes (true->read): "
          + ", ".join(f"{k} x{v}" for k, v in mistakes(labels, whole).most_common(8)))
    report["paths"]["whole path"]["per_writer_mistakes"] = {
        w: dict(mistakes(labels[writers == w], whole[writers == w]).most_common()) for w in per_writer}
    if args.by_writer:
        print(f"\n{'writer':<8}{'digits':>7}{'top-1':>9}  most common confusion")
        for writer, accuracy in per_writer.items():
            common = mistakes(labels[writers == writer], whole[writers == writer]).most_common(1)
            print(f"{short(writer):<8}{int((writers == writer).sum()):>7}{accuracy:>9.2%}  "
                  + (f"{common[0][0]} x{common[0][1]}" if common else "none"))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.record:
        weights = Path(args.weights) if args.weights else spec(args.arch).weights
        record(weights, {"drawn_accuracy": report["paths"]["whole path"]["top1"],
                         "drawn_command": f"python -m bench.drawn_digits --arch {args.arch}"})
        print(f"\nrecorded drawn_accuracy in {weights.name}")
    return report


if __name__ == "__main__":
    main()
