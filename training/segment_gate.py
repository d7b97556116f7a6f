"""Train the number reader's segment gate: "is this candidate one whole digit of the number?".

The number reader (model/number.py) cuts a picture of a number into candidate digits: whole
digits, but also parts of one (a 4's stroke, half a 0) and two touching digits taken as one.
The digit networks were trained on whole digits only and read most parts and pairs as some
digit, often confidently; this gate sees the same 28x28 input and is trained for exactly that
question. Its answer is one of the reader's features (training/number_scorer.py fits how much
it counts). It is the gate's network (model/gate.py's GateNet), saved as a gate file by
model/weights.py (arch "gate"; its threshold is 0.5, unused by the reader).

The candidates come from numbers of every kind written by the training writers 01-15
(training/numbers.py), cut exactly as the reader cuts them. Each is labelled by the number's
own drawing: one whole digit when its ink and one symbol's own ink overlap by at least WHOLE
(intersection over union), not one when by less than NOT_WHOLE; those in between are left
out. Writers 16-20 are kept for the scorer's check, and the measuring writers 21-30 are never
read here.

    python -m training.segment_gate                  # the shipped assets/segment_gate.pt
    python -m training.segment_gate --per-kind 40 --epochs 1 --out /tmp/segment_gate.pt   # a smoke run
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from model import load_classifier
from model.gate import GateNet
from model.number import SEGMENT_GATE, examine
from model.paths import SHARED_STROKES, TRAINING_WRITERS
from model.preprocess import MNIST_MEAN, MNIST_STD, normalize
from model.weights import GATE, save_weights
from training.gate import binary_epoch
from training.numbers import make_numbers, symbol_masks
from training.strokes import training_digits

WHOLE, NOT_WHOLE = 0.6, 0.45
FIT_WRITERS = TRAINING_WRITERS[:15]


def overlaps(examined, written, text: str) -> np.ndarray:
    """Per candidate, the largest intersection over union of its ink with one digit's own ink."""
    masks = [m for m, symbol in zip(symbol_masks(written), text) if symbol not in ".-"]
    best = np.zeros(len(examined.candidates))
    for i, candidate in enumerate(examined.candidates):
        pieces = examined.lines.pieces[candidate.first:candidate.last]
        region = np.isin(examined.lines.labels, [p.label for p in pieces])
        area = int(region.sum())
        for mask in masks:
            both = int((region & mask).sum())
            best[i] = max(best[i], both / (area + int(mask.sum()) - both))
    return best


def candidates(classifier, per_kind: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N x 28 x 28 candidate images, N labels 1 = one whole digit / 0 = not)."""
    images, labels = [], []
    for _, _, text, written in make_numbers(training_digits(SHARED_STROKES, FIT_WRITERS), per_kind, seed):
        examined = examine(classifier, written.picture)
        if examined is None:
            continue
        best = overlaps(examined, written, text)
        for candidate, iou in zip(examined.candidates, best):
            if iou >= WHOLE or iou < NOT_WHOLE:
                images.append(candidate.image)
                labels.append(float(iou >= WHOLE))
    return np.stack(images), np.array(labels, np.float32)


def train(images: torch.Tensor, targets: torch.Tensor, args, generator: torch.Generator) -> GateNet:
    network = GateNet(args.width)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * -(-len(images) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    for epoch in range(1, args.epochs + 1):
        loss = binary_epoch(network, optimizer, schedule, images, targets, args.batch_size, generator)
        print(f"epoch {epoch}: loss {loss:.4f}", flush=True)
    return network.eval()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=250, help="numbers of each kind to cut (default: 250)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--width", type=int, default=16, help="the GateNet's width (default: 16)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=SEGMENT_GATE)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    torch.set_num_threads(1)  # the candidates are cut on one thread, as the app reads
    classifier = load_classifier()
    images, labels = candidates(classifier, args.per_kind, args.seed)
    held = np.random.default_rng(args.seed).random(len(images)) < 0.1
    print(f"{len(images)} candidates ({int(labels.sum())} whole digits), cut in {time.perf_counter() - started:.0f} s", flush=True)
    torch.set_num_threads(2)
    tensor = torch.from_numpy(images).unsqueeze(1)
    network = train(tensor[~held], torch.from_numpy(labels)[~held], args, generator)
    with torch.inference_mode():
        right = ((network(normalize(tensor[held])) > 0).float().numpy() == labels[held]).mean()
    print(f"held-out candidates told right: {right:.1%}")
    metadata = {
        "arch": GATE, "arch_kwargs": {"width": args.width}, "mean": MNIST_MEAN, "std": MNIST_STD, "threshold": 0.5,
        "question": "is this candidate one whole digit of the number?", "candidates": int((~held).sum()),
        "held_out_right": float(right), "writers": list(FIT_WRITERS),
        "command": "python -m training.segment_gate " + shlex.join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed, "seconds": round(time.perf_counter() - started, 1), "torch_version": str(torch.__version__),
    }
    save_weights(args.out, network, metadata)
    print(f"wrote {args.out} in {metadata['seconds']:.0f} s")
    return metadata


if __name__ == "__main__":
    main()
