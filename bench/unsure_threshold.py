"""When the app says "not sure": the figures behind each network's unsure_below and the gate.

A reading is "not sure" when the gate (model/gate.py) says the picture is no digit at all, or
when the network's top probability is below its `unsure_below` (model/registry.py). Too strict,
and the app doubts digits it reads right; too lax, and scribbles get a confident digit. This
script measures both sides on pictures made exactly as the app receives them:

  digits      human pen strokes (../shared/data/strokes) drawn with the app's brush on its
              canvas, at sizes and places people pick; split into read right / read wrong;
  non-digits  a fixed set from nondigits.py, every family, made with seeds that training/gate.py
              never uses. Two families (nondigits.HELD_OUT) are never shown to the gate at all.

A non-digit counts as caught when the answer is blank or "not sure". The floors (issue 8):
at least 95 % of the non-digits caught, at most 5 % of the correctly read digits doubted.
It recommends the highest unsure_below (in steps of 0.05) that, together with the gate,
doubts at most --doubt of the correctly read digits.

    python -m bench.unsure_threshold                   # the shipped CNN and gate
    python -m bench.unsure_threshold --arch mlp        # any network of model/registry.py
    python -m bench.unsure_threshold --gate none       # the top-probability threshold alone
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training import nondigits
from bench.drawn_digits import load_strokes
from model import load_classifier
from model.canvas import draw_like_a_person, sketchpad_value
from model.gate import DEFAULT_GATE, read_gate
from model.paths import SHARED_STROKES
from model.registry import DEFAULT, NETWORKS

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
# training/gate.py makes its pictures with seeds 1 and 2 (training, held out), and small ones near
# them for other seeds: the bench's non-digits come from far away, so none is ever trained on.
NONDIGIT_SEED = 10_000
FLOORS = {"caught": 0.95, "doubted": 0.05}


def readings(classifier, pictures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per picture, through the app's own path: top probability, top digit, the gate's P(digit).

    Blank pictures (no guess at all) come back as NaN / -1 / NaN; without a gate, P(digit) is 1.
    """
    top, digit, digit_like = [], [], []
    for start in range(0, len(pictures), 256):
        for prediction in classifier.predict_batch(pictures[start : start + 256]):
            if prediction.blank:
                top.append(np.nan), digit.append(-1), digit_like.append(np.nan)
            else:
                (d, p), = prediction.top(1)
                top.append(p), digit.append(d), digit_like.append(1.0 if prediction.digit_like is None else prediction.digit_like)
    return np.array(top), np.array(digit), np.array(digit_like)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"the shipped network to measure (default: {DEFAULT})")
    parser.add_argument("--weights", default=None, help="a weights file instead of the shipped one")
    parser.add_argument("--gate", default=str(DEFAULT_GATE), help="a gate file, or 'none' for the top-probability threshold alone (default: assets/gate.pt)")
    parser.add_argument("--nondigits", type=int, default=2100, help="non-digits to make, spread evenly over the families (default: 2100)")
    parser.add_argument("--every", type=int, default=1, help="only every N-th human digit, all writers kept (default: 1, all)")
    parser.add_argument("--doubt", type=float, default=0.04,
                        help="share of correctly read digits the recommendation may doubt (default: 0.04, room below the 5 %% floor for writers this set lacks)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the digits' sizes and places and for the non-digits (default: 0)")
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, help="folder of pen-stroke .jsonl files")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    gate = None if args.gate == "none" else read_gate(args.gate)  # a bad file stops the bench: it would measure nothing
    classifier = load_classifier(args.weights, arch=args.arch, gate=gate)
    digits = load_strokes(args.strokes)
    if not digits:
        raise SystemExit(f"no pen strokes found in {args.strokes}")
    digits = digits[:: args.every]
    rng = np.random.default_rng(args.seed)
    labels = np.array([d["label"] for d in digits])
    digit_top, digit_guess, digit_like = readings(classifier, [sketchpad_value(draw_like_a_person(d["strokes"], rng)) for d in digits])
    families = tuple(nondigits.FAMILIES)
    kinds, made = [], []
    for kind, picture in nondigits.pictures(args.nondigits, NONDIGIT_SEED + args.seed, families):
        kinds.append(kind)
        # Pen strokes arrive as the Sketchpad's value; raw pictures as an upload (a plain array).
        made.append(picture if families[kind] in ("pictures", "blobs") else sketchpad_value(picture))
    kinds = np.array(kinds)
    non_top, _, non_like = readings(classifier, made)
    gate_threshold = gate.threshold if gate is not None else 0.0

    right = (digit_guess == labels) & ~np.isnan(digit_top)
    wrong = ~right & ~np.isnan(digit_top)
    gated_digits = digit_like < gate_threshold  # NaN (blank) compares False
    gated_non = non_like < gate_threshold
    blank_non = np.isnan(non_top)

    def doubted(threshold: float) -> np.ndarray:
        return gated_digits | (digit_top < threshold)

    def caught(threshold: float) -> np.ndarray:
        return blank_non | gated_non | (non_top < threshold)

    gate_name = "no gate" if gate is None else f"gate {Path(args.gate).name} (digit below {gate_threshold:.3f})"
    print(f"{args.weights or args.arch}, {gate_name}, seed {args.seed}\n"
          f"{len(digits)} human digits: {right.sum()} read right, {wrong.sum()} wrong, {np.isnan(digit_top).sum()} blank\n"
          f"{len(kinds)} non-digits, {len(kinds) // len(families)} per family ({', '.join(families)}; "
          f"never trained on: {', '.join(nondigits.HELD_OUT)}), {blank_non.sum()} blank\n")
    if gate is not None:
        print(f"the gate alone: doubts {np.mean(gated_digits[right]):.1%} of the digits read right, "
              f"{np.mean(gated_digits[wrong]):.1%} of those read wrong, catches {np.mean(gated_non | blank_non):.1%} of the non-digits\n")

    # The last column is what the threshold catches on its own, without the gate, for comparison.
    print(f"{'unsure below':>12}{'right doubted':>15}{'wrong caught':>14}{'non-digits caught':>19}{'sure answers right':>20}"
          f"{'caught, no gate':>17}")
    for threshold in THRESHOLDS:
        sure = ~doubted(threshold) & ~np.isnan(digit_top)
        print(f"{threshold:>12.2f}{np.mean(doubted(threshold)[right]):>15.1%}{np.mean(doubted(threshold)[wrong]):>14.1%}"
              f"{np.mean(caught(threshold)):>19.1%}{np.mean(right[sure]) if sure.any() else float('nan'):>20.2%}"
              f"{np.mean(blank_non | (non_top < threshold)):>17.1%}")

    # The highest threshold (rounded down to 0.05) at which gate + threshold doubt at most --doubt.
    candidates = [t / 20 for t in range(0, 20) if np.mean(doubted(t / 20)[right]) <= args.doubt]
    recommended = max(candidates) if candidates else 0.0

    def rates(threshold: float) -> dict:
        return {"unsure_below": threshold, "right_doubted": float(np.mean(doubted(threshold)[right])),
                "wrong_caught": float(np.mean(doubted(threshold)[wrong])), "nondigits_caught": float(np.mean(caught(threshold))),
                "caught_per_family": {name: float(np.mean(caught(threshold)[kinds == i])) for i, name in enumerate(families)}}

    report = {"arch": args.arch, "weights": args.weights, "gate": None if gate is None else Path(args.gate).name,
              "gate_threshold": gate_threshold if gate is not None else None, "seed": args.seed, "digits": len(digits),
              "nondigits": len(kinds), "held_out_families": list(nondigits.HELD_OUT),
              "recommended": rates(recommended), "shipped": rates(classifier.spec.unsure_below)}
    for name, figures in (("recommended", report["recommended"]), ("in model/registry.py now", report["shipped"])):
        print(f"\n{name} for {args.arch}: unsure below {figures['unsure_below']:.2f}")
        print(f"  non-digits caught          {figures['nondigits_caught']:6.1%}   (floor >= {FLOORS['caught']:.0%}: "
              f"{'met' if figures['nondigits_caught'] >= FLOORS['caught'] else 'NOT met'})")
        print(f"  digits read right, doubted {figures['right_doubted']:6.1%}   (floor <= {FLOORS['doubted']:.0%}: "
              f"{'met' if figures['right_doubted'] <= FLOORS['doubted'] else 'NOT met'})")
        print(f"  digits read wrong, caught  {figures['wrong_caught']:6.1%}")
        print("  caught per family: " + ", ".join(f"{family}{' (never trained on)' if family in nondigits.HELD_OUT else ''} {rate:.1%}"
                                                  for family, rate in figures["caught_per_family"].items()))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
