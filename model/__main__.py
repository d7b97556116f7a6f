"""Command line: read digits from image files with a trained model.

    python -m model predict digit.png other.jpg     # top-3 per file
    python -m model predict --json *.png            # one JSON object per line
"""

from __future__ import annotations

import argparse
import json
import sys

from model.classifier import load_classifier
from model.registry import DEFAULT, NETWORKS
from model.preprocess import UnreadableImage, open_image
from model.weights import WeightsError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="print the top-3 digits for each image file")
    predict.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, WEBP, ...)")
    predict.add_argument("--json", action="store_true", help="one JSON object per file and line")
    predict.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped model to use (default: {DEFAULT})")
    predict.add_argument("--weights", default=None, help="a weights file instead of the shipped one")
    args = parser.parse_args(argv)

    try:
        classifier = load_classifier(args.weights, arch=args.arch)
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.files:
        try:
            prediction = classifier.predict(open_image(path))
        except UnreadableImage as error:
            failures += 1
            print(json.dumps({"file": path, "error": str(error)}) if args.json else f"{path}: error: {error}")
            continue
        top3 = prediction.top(3)
        if args.json:
            print(json.dumps({"file": path, "blank": prediction.blank,
                              "top3": [{"digit": d, "probability": round(p, 6)} for d, p in top3]}))
        elif prediction.blank:
            print(f"{path}: blank (no digit found)")
        else:
            print(f"{path}: " + ", ".join(f"{d} ({p:.1%})" for d, p in top3))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
