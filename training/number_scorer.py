"""Fit the number reader's scorer: which candidate digits are one whole digit.

The reader (model/number.py) cuts a picture into candidate digits, scores each linearly on
what the network, the gate and the geometry say of it (its FEATURES), and reads the run of
candidates with the best total. This fits those weights on numbers written by the training
writers (01-20, never a measuring one) as a structured perceptron: a candidate is a symbol of
the number when its ink and that symbol's own ink (drawn alone) overlap enough (MATCH), and
whenever the best-scoring reading is not a right one the weights move towards the best right
one. Writers 01-15 are fitted on and writers 16-20 checked on: the numbers read exactly, by
kind, with the weights in model/number.py and with the fitted ones, which it prints to paste
into model/number.py.

    python -m training.number_scorer                    # 400 numbers of each kind, seed 0
    python -m training.number_scorer --per-kind 100     # quicker

The shipped networks were trained on every training writer, so they read the fitting writers
better than they read a stranger. To fit to a network that has never seen the fitting writers,
train one on fewer and fit on the rest (this did not read writers 19-20 better than the shipped
weights, which is why they stay):

    python train.py --data-dir ../shared/data/mnist --stroke-writers 1-14 --out /tmp/cnn14 --no-plots
    python -m training.number_scorer --weights /tmp/cnn14/cnn.pt --fit-writers 15-18 --check-writers 19-20

--all-ink V [V ...] fits nothing: it reads --per-kind numbers of each kind by the checking
writers with each value of the reader's ALL_INK (the bonus of a candidate holding all the ink)
in turn, with --all-ink-width each ALL_INK_WIDTH (how narrow it must be), and with --echo each
ECHO (what a part of a component that reads as the whole component loses; ECHO_SURE is set in
model/number.py). That is how all three were chosen:

    python -m training.number_scorer --weights /tmp/cnn14/cnn.pt --check-writers 15-20 --all-ink 0 15 30 45 60 80
    python -m training.number_scorer --weights /tmp/cnn14/cnn.pt --check-writers 15-20 --all-ink 45 --all-ink-width 1 1.2 1.5
    python -m training.number_scorer --weights /tmp/cnn14/cnn.pt --check-writers 15-20 --per-kind 300 --all-ink 45 --echo 0 20 45 90
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from model import load_classifier
from model.number import ALL_INK, ALL_INK_WIDTH, BIAS, ECHO, FEATURES, SKIP, WEIGHTS, Candidate, best_path, examine, reading_of, scores as candidate_scores
from model.paths import SHARED_STROKES, TRAINING_WRITERS
from training.numbers import KINDS, make_numbers, symbol_masks
from training.strokes import training_digits, writer_range

# A candidate is the reading's digit k when its ink and digit k's overlap by at least this much
# (intersection over union): the right readings are the runs of such candidates, in order.
MATCH = 0.6
FIT_WRITERS, CHECK_WRITERS = TRAINING_WRITERS[:15], TRAINING_WRITERS[15:]
EPOCHS = 20


def matched(classifier, numbers) -> list[tuple]:
    """(examined picture, per candidate the index of the symbol it is (-1: none)) per number."""
    result = []
    for _, _, text, written in numbers:
        examined = examine(classifier, written.picture)
        if examined is None:
            result.append((None, []))
            continue
        masks = symbol_masks(written)
        sizes = [int(m.sum()) for m in masks]
        which = []
        for candidate in examined.candidates:
            pieces = examined.lines.pieces[candidate.first:candidate.last]
            region = np.isin(examined.lines.labels, [p.label for p in pieces])
            area = int(region.sum())
            best, index = 0.0, -1
            for k, (mask, size, symbol) in enumerate(zip(masks, sizes, text)):
                if symbol in ".-":
                    continue
                both = int((region & mask).sum())
                if both / (area + size - both) > best:
                    best, index = both / (area + size - both), k
            which.append(index if best >= MATCH else -1)
        result.append((examined, which))
    return result


def right_path(examined, which: list[int], text: str, scores: np.ndarray, skip: float) -> list | None:
    """The best-scoring run of candidates and marks that reads `text` symbol by symbol (each
    candidate matched to its symbol), or None when there is none."""
    pieces = examined.lines.pieces
    best = {(0, 0): (0.0, None)}
    for place in range(len(pieces) + 1):
        for k in range(len(text) + 1):
            if (place, k) not in best or place == len(pieces):
                continue
            total = best[(place, k)][0]
            piece = pieces[place]
            moves = []
            if piece.mark is not None and k < len(text) and text[k] == piece.mark:
                moves.append(((place + 1, k + 1), total, piece))
            if piece.mark is None:
                moves.append(((place + 1, k), total - skip, piece))
            for c, index, score in zip(examined.candidates, which, scores):
                if c.first == place and index == k:
                    moves.append(((c.last, k + 1), total + score, c))
            for state, value, item in moves:
                if state not in best or value > best[state][0]:
                    best[state] = (value, (item, (place, k)))
    end = (len(pieces), len(text))
    if end not in best:
        return None
    path, state = [], end
    while best[state][1] is not None:
        item, (place, k) = best[state][1]
        if isinstance(item, Candidate) or (item is not None and state[1] > k):  # a candidate or a mark read
            path.append(item)
        elif item is not None:
            path.append(("skipped", item))
        state = (place, k)
    return path[::-1]


def chosen_features(path: list, examined) -> np.ndarray:
    """The sum of the features of a path's candidates, then their count (the bias's feature)
    and minus the count of pieces it leaves out (the skip's)."""
    rows = [examined.candidates.index(item) for item in path if isinstance(item, Candidate)]
    skipped = sum(isinstance(item, tuple) for item in path)
    return np.concatenate([examined.features[rows].sum(axis=0), [len(rows), -skipped]])


def as_path(guess: list, examined) -> list:
    """best_path's answer with its left-out pieces marked, as right_path gives them."""
    used = {id(item) for item in guess}
    covered = set()
    for item in guess:
        if isinstance(item, Candidate):
            covered.update(range(item.first, item.last))
        else:
            covered.add(examined.lines.pieces.index(item))
    skipped = [("skipped", p) for i, p in enumerate(examined.lines.pieces) if i not in covered and id(p) not in used]
    return guess + skipped


def fit(data: list[tuple], texts: list[str], seed: int) -> tuple[np.ndarray, float, float]:
    """An averaged structured perceptron: whenever the best reading is not a right one, move the
    weights from its candidates' features towards those of the best right reading."""
    scale = np.concatenate([np.concatenate([e.features for e, _ in data if e is not None]).std(axis=0) + 1e-6, [1.0, 1.0]])
    w = np.concatenate([WEIGHTS, [BIAS, SKIP]]) * scale
    total, steps = np.zeros_like(w), 0
    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        for n in rng.permutation(len(data)):
            examined, which = data[n]
            if examined is None:
                continue
            weights, bias, skip = w[:-2] / scale[:-2], w[-2], w[-1]
            scores = candidate_scores(examined, weights, bias)  # ALL_INK included: it is fitted around
            right = right_path(examined, which, texts[n], scores, skip)
            if right is not None:
                guess = best_path(examined.lines, examined.candidates, scores.tolist(), skip)
                if [id(item) for item in guess] != [id(item) for item in right if not isinstance(item, tuple)]:
                    w += (chosen_features(right, examined) - chosen_features(as_path(guess, examined), examined)) / scale
            total += w
            steps += 1
    w = total / steps
    return w[:-2] / scale[:-2], float(w[-2]), float(w[-1])


def exact(classifier, numbers, examined_all, weights, bias, skip, all_ink: float = ALL_INK,
          all_ink_width: float = ALL_INK_WIDTH, echo: float = ECHO) -> dict[str, float]:
    """The share of numbers read exactly, by kind."""
    right, total = defaultdict(int), defaultdict(int)
    for (kind, _, text, _), examined in zip(numbers, examined_all):
        total[kind] += 1
        right[kind] += reading_of(examined, classifier, weights, bias, skip, all_ink, all_ink_width, echo).text == text
    return {kind: right[kind] / total[kind] for kind in KINDS}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=400, help="numbers of each kind to fit on (default: 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", type=Path, default=None,
                        help="the network whose answers are fitted to (default: the shipped CNN); see the module's docstring")
    parser.add_argument("--fit-writers", type=writer_range, default=FIT_WRITERS, metavar="WRITERS",
                        help="training writers to fit on, as 1-15 or 16-18 (default: 1-15)")
    parser.add_argument("--check-writers", type=writer_range, default=CHECK_WRITERS, metavar="WRITERS",
                        help="training writers to check on (default: 16-20)")
    parser.add_argument("--all-ink", type=float, nargs="+", default=None, metavar="V",
                        help="fit nothing: read --per-kind numbers of each kind by the checking writers with each of these ALL_INK bonuses")
    parser.add_argument("--all-ink-width", type=float, nargs="+", default=[ALL_INK_WIDTH], metavar="W",
                        help=f"with --all-ink: each of these ALL_INK_WIDTH too (default: {ALL_INK_WIDTH:g})")
    parser.add_argument("--echo", type=float, nargs="+", default=[ECHO], metavar="E",
                        help=f"with --all-ink: each of these ECHO too (default: {ECHO:g})")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    classifier = load_classifier(args.weights)
    if args.all_ink:
        checking = make_numbers(training_digits(SHARED_STROKES, args.check_writers), args.per_kind, args.seed + 1)
        examined_all = [examine(classifier, written.picture) for _, _, _, written in checking]
        for echo, width, bonus in itertools.product(args.echo, args.all_ink_width, args.all_ink):
            shares = exact(classifier, checking, examined_all, WEIGHTS, BIAS, SKIP, bonus, width, echo)
            print(f"ALL_INK {bonus:>5g}, ALL_INK_WIDTH {width:>4g}, ECHO {echo:>4g}: "
                  + "  ".join(f"{kind} {shares[kind]:.1%}" for kind in KINDS), flush=True)
        return
    fitting = make_numbers(training_digits(SHARED_STROKES, args.fit_writers), args.per_kind, args.seed)
    checking = make_numbers(training_digits(SHARED_STROKES, args.check_writers), max(50, args.per_kind // 2), args.seed + 1)
    data = matched(classifier, fitting)
    reachable = sum(e is not None and right_path(e, w, t, np.zeros(len(w)), SKIP) is not None
                    for (e, w), (_, _, t, _) in zip(data, fitting))
    print(f"{len(fitting)} numbers to fit on, {reachable} of them with a right reading among the candidates", flush=True)
    weights, bias, skip = fit(data, [text for _, _, text, _ in fitting], args.seed)
    examined_all = [examine(classifier, written.picture) for _, _, _, written in checking]
    before = exact(classifier, checking, examined_all, WEIGHTS, BIAS, SKIP)
    after = exact(classifier, checking, examined_all, weights, bias, skip)
    print(f"\nread exactly, writers {args.check_writers[0][-2:]}-{args.check_writers[-1][-2:]}: " + "  ".join(
        f"{kind} {before[kind]:.1%} -> {after[kind]:.1%}" for kind in KINDS))
    print("\nWEIGHTS = np.array([" + ", ".join(f"{w:.4g}" for w in weights) + "])")
    print(f"BIAS = {bias:.4g}")
    print(f"SKIP = {skip:.4g}")
    print("# " + ", ".join(FEATURES))


if __name__ == "__main__":
    main()
