"""Command line: read digits from image files with a trained model.

    python -m model predict digit.png other.jpg     # top-3 per file
    python -m model predict --json *.png            # one JSON object per line
    python -m model read --json number.png          # a whole number: {"text": "3.14", "symbols": [...], ...}

Every file given is read, whatever the others hold: a file that is not a picture gets one
error line (in --json: {"file": ..., "error": ...}) and the exit status is 1. FIFOs,
devices and folders are refused at once, never waited on. Exit status 2: no usable weights.
"""

from __future__ import annotations

import argparse
import json
import sys

from model.classifier import load_classifier
from model.number import read_number
from model.picture import UnreadableImage, open_image
from model.registry import DEFAULT, NETWORKS
from model.weights import WeightsError


def read_one(classifier, path: str, command: str = "predict") -> dict:
    """{"file": path, **answer}, the answer Prediction.as_json() (predict) or Reading.as_json() (read),
    or {"file": path, "error": plain words} for a bad file."""
    try:
        picture = open_image(path)
        answer = classifier.predict(picture) if command == "predict" else read_number(classifier, picture)
        return {"file": path, **answer.as_json()}
    except UnreadableImage as error:
        return {"file": path, "error": error.reason}
    except (ValueError, MemoryError) as error:  # a picture PIL decodes but no digit reader could use
        return {"file": path, "error": f"could not be read as a picture ({error.__class__.__name__})"}


def as_text(answer: dict) -> str:
    if "error" in answer:
        return f"{answer['file']}: error: {answer['error']}"
    if answer["blank"]:
        return f"{answer['file']}: blank (no digit found)"
    if "text" in answer:  # a number
        return f"{answer['file']}: {answer['text']}" + (" -- not sure" if answer["unsure"] else "")
    guesses = ", ".join(f"{guess['digit']} ({guess['probability']:.1%})" for guess in answer["top3"])
    return f"{answer['file']}: {guesses}" + (" -- not sure" if answer["unsure"] else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_line in (("predict", "print the top-3 digits for each image file"),
                            ("read", "read a whole number (digits, '.' and '-') from each image file")):
        command = commands.add_parser(name, help=help_line)
        command.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, WEBP, ...)")
        command.add_argument("--json", action="store_true", help="one JSON object per file and line")
        command.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped model to use (default: {DEFAULT})")
        command.add_argument("--weights", default=None, help="a weights file instead of the shipped one")
    args = parser.parse_args(argv)

    try:
        classifier = load_classifier(args.weights, arch=args.arch)
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.files:
        answer = read_one(classifier, path, args.command)
        failures += "error" in answer
        print(json.dumps(answer) if args.json else as_text(answer), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
