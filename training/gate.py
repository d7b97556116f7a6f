"""Train the gate (model/gate.py): "is this a digit at all?", for every network at once.

    python -m training.gate --data-dir ../shared/data/mnist    # the shipped assets/gate.pt
    python -m training.gate --quick                            # a smoke run

The recipe, top to bottom:
  digits      MNIST's training images (less a validation split), with the drawing augmentation
              of augment.py, plus digits written as pen strokes from hand-made templates and the
              training writers' human pen strokes rendered as train.py renders them
              (training/strokes.py), all drawn on the app's canvas and preprocessed like a drawing:
              without them the gate could learn "uniform pen strokes = no digit", as every
              generated non-digit is drawn that way;
  non-digits  nondigits.py's TRAINING families (never its held-out ones), with training seeds;
  augmentation the same warp and stroke-width changes on both sides, so they tell the gate nothing;
  threshold   chosen on held-out pictures only (the validation digits, and pen digits, renderings
              and non-digits made with other seeds): the one that tells them apart best while
              letting at least --keep of the held-out digits pass.

The measuring writers of ../shared/data/strokes (21-30, model/paths.py) are never used here:
they measure the result (`python -m bench.unsure_threshold`). Without the folder the digits
are MNIST and the templates alone, and the gate's metadata says so.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training import nondigits
from training.augment import add_continental_strokes, augment
from model.examples import STROKES as DIGIT_STROKES
from training.mnist import load_mnist
from model.canvas import draw_like_a_person
from model.gate import GateNet, read_gate
from model.paths import ASSETS, SHARED_STROKES
from model.preprocess import MNIST_MEAN, MNIST_STD, normalize, to_mnist
from model.weights import GATE, save_weights
from training.strokes import render_many, training_digits

QUICK = {"epochs": 1, "nondigits": 3000, "pen_digits": 600, "stroke_digits": 600}  # what --quick changes

# More ways people write some digits than the app's examples show (same box: ~100 x 120, y down).
MORE_DIGIT_STROKES = {
    0: [[(50, 0), (10, 30), (5, 80), (35, 120), (75, 110), (92, 60), (80, 15), (50, 0), (40, 8)]],
    1: [[(25, 30), (58, 0), (46, 120)]],
    2: [[(8, 35), (40, 0), (80, 15), (70, 60), (5, 120), (30, 100), (50, 120), (95, 118)]],
    3: [[(10, 10), (85, 5), (40, 50), (85, 75), (75, 112), (40, 122), (8, 105)]],
    4: [[(45, 0), (8, 80), (95, 80)], [(70, 40), (68, 125)]],
    5: [[(20, 0), (15, 55), (52, 44), (84, 62), (86, 100), (55, 121), (10, 110)], [(20, 2), (85, 0)]],
    6: [[(70, 0), (20, 55), (15, 100), (45, 122), (80, 100), (70, 68), (30, 68), (17, 90)]],
    7: [[(5, 5), (90, 5), (38, 122)], [(30, 62), (80, 58)]],
    8: [[(50, 60), (15, 35), (50, 0), (85, 30), (50, 60), (10, 90), (50, 122), (90, 90), (50, 60)]],
    9: [[(80, 22), (50, 2), (20, 18), (24, 48), (55, 56), (80, 28), (80, 75), (65, 122)]],
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6, help="passes over the training pictures (default: 6)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per optimisation step (default: 128)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule (default: 3e-3)")
    parser.add_argument("--width", type=int, default=12, help="channels of the gate's first block (default: 12)")
    parser.add_argument("--nondigits", type=int, default=12000, help="generated non-digits to train on (default: 12000)")
    parser.add_argument("--pen-digits", type=int, default=3000, help="digits drawn from pen-stroke templates (default: 3000)")
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, metavar="FOLDER",
                        help="folder of pen-stroke .jsonl files; only the training writers are read (default: ../shared/data/strokes)")
    parser.add_argument("--stroke-digits", type=int, default=5000, metavar="N",
                        help="renderings of the training writers' pen strokes to train on, as train.py makes them with the same seed (default: 5000)")
    parser.add_argument("--val-size", type=int, default=5000, help="MNIST training images held out to choose the threshold (default: 5000)")
    parser.add_argument("--keep", type=float, default=0.98, help="least share of held-out digits the threshold must let through (default: 0.98)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the split, the generated pictures, the weights and the augmentation (default: 1)")
    parser.add_argument("--data-dir", default="data", help="folder with MNIST's four .gz files, or a torchvision root (default: data)")
    parser.add_argument("--out", default=str(ASSETS / "gate.pt"), help="where the gate goes (default: assets/gate.pt)")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--weights-from", default=None,
                        help="skip training and take the weights of this gate file (an earlier run with the same settings); only choose the threshold")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def pen_digits(count: int, seed: int) -> np.ndarray:
    """Digits written from the pen-stroke templates, wobbled, drawn like a person and preprocessed."""
    rng = np.random.default_rng(seed)
    templates = list(DIGIT_STROKES.values()) + list(MORE_DIGIT_STROKES.values())
    images = []
    while len(images) < count:
        strokes = nondigits.wobble(templates[rng.integers(len(templates))], rng, jitter=rng.uniform(0.0, 0.04))
        image28 = to_mnist(draw_like_a_person(strokes, rng))
        if image28 is not None:
            images.append(image28)
    return np.stack(images)


def as_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(images, dtype=torch.float32).reshape(-1, 1, 28, 28)


@torch.inference_mode()
def digit_probability(network: GateNet, images: torch.Tensor) -> np.ndarray:
    network.eval()
    if not len(images):  # no pen strokes to hold out
        return np.zeros(0, np.float32)
    return torch.cat([torch.sigmoid(network(normalize(images[i : i + 1000]))) for i in range(0, len(images), 1000)]).numpy()


def main(argv=None) -> dict:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "training.gate", *(sys.argv[1:] if argv is None else argv)])
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()

    # Digits: MNIST (split as train.py splits it) and pen-stroke digits; held-out ones use seed + 1.
    mnist, labels = load_mnist(args.data_dir, train=True)
    order = torch.randperm(len(mnist), generator=generator)
    val_digits, fit_digits, fit_labels = mnist[order[: args.val_size]], mnist[order[args.val_size :]], labels[order[args.val_size :]]
    val_pen = as_batch(pen_digits(max(args.pen_digits // 4, 200), seed=args.seed + 1))
    strokes = training_digits(args.strokes)
    if not strokes:
        print(f"training.gate: no pen strokes in {args.strokes}: the digits are MNIST and the templates alone")
    val_strokes = as_batch(render_many(strokes, max(args.stroke_digits // 4, 200) if strokes else 0, seed=args.seed + 1)[0])
    # Non-digits for choosing the threshold: the training families, with seed + 1.
    val_non, val_kinds = nondigits.generate(max(args.nondigits // 4, 700), seed=args.seed + 1, families=nondigits.TRAINING)
    val_non = as_batch(val_non)
    if args.weights_from:
        trained = read_gate(args.weights_from)
        network, args.width = trained.network, trained.metadata["arch_kwargs"]["width"]
        command = f"{trained.metadata['command']}, then {command}"
    else:
        network = train(args, fit_digits, fit_labels, strokes, generator, started)

    # The threshold, chosen on held-out pictures only. Held-out MNIST digits count both plain and
    # augmented, as drawings vary more than MNIST.
    val_aug = augment(val_digits, torch.Generator().manual_seed(args.seed + 1))
    held_digits = np.concatenate([digit_probability(network, d) for d in (val_digits, val_aug, val_pen, val_strokes)])
    held_non = digit_probability(network, val_non)
    threshold = choose_threshold(held_digits, held_non, args.keep)
    passed = {name: float(np.mean(p >= threshold)) for name, p in
              (("mnist", digit_probability(network, val_digits)), ("mnist augmented", digit_probability(network, val_aug)),
               ("pen digits", digit_probability(network, val_pen)), ("pen strokes", digit_probability(network, val_strokes)))
              if len(p)}
    caught = {family: float(np.mean(held_non[val_kinds == i] < threshold)) for i, family in enumerate(nondigits.TRAINING)}
    print(f"threshold {threshold:.2f}: held-out digits let through " + ", ".join(f"{k} {v:.1%}" for k, v in passed.items()))
    print(f"held-out non-digits caught {np.mean(held_non < threshold):.1%}: " + ", ".join(f"{k} {v:.1%}" for k, v in caught.items()))

    metadata = {
        "arch": GATE, "arch_kwargs": {"width": args.width}, "mean": MNIST_MEAN, "std": MNIST_STD, "threshold": threshold,
        "held_out_digits_passed": passed, "held_out_nondigits_caught": caught,
        "digits_trained_on": {"mnist": len(fit_digits), "pen_templates": args.pen_digits, "strokes": {
            "writers": sorted({d["writer"] for d in strokes}), "digits": len(strokes), "renderings": args.stroke_digits} if strokes else None},
        "trained_on": list(nondigits.TRAINING), "command": command, "seed": args.seed,
        "seconds": round(time.perf_counter() - started, 1), "torch_version": str(torch.__version__),
    }
    save_weights(args.out, network, metadata)
    print(f"wrote {args.out} in {metadata['seconds']:.0f} s")
    return metadata


def choose_threshold(digits: np.ndarray, non_digits: np.ndarray, keep: float) -> float:
    """The threshold (in steps of 0.01) that tells held-out digits from non-digits best, by the
    mean of the two rates, among those that let at least `keep` of the digits through."""
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    passed = (digits[None, :] >= grid[:, None]).mean(axis=1)
    caught = (non_digits[None, :] < grid[:, None]).mean(axis=1)
    score = np.where(passed >= keep, passed + caught, -1.0)
    return float(grid[np.argmax(score)]) if (passed >= keep).any() else float(grid[0])


def train(args, fit_digits, fit_labels, strokes, generator, started) -> GateNet:
    """Digits against the training families' non-digits, both warped and thickened alike."""
    fit_pen = as_batch(pen_digits(args.pen_digits, seed=args.seed))
    if strokes:  # the pen-template digits and the renderings of human strokes are digits alike
        fit_pen = torch.cat([fit_pen, as_batch(render_many(strokes, args.stroke_digits, seed=args.seed)[0])])
    fit_non = as_batch(nondigits.generate(args.nondigits, seed=args.seed, families=nondigits.TRAINING)[0])
    print(f"{len(fit_digits)} MNIST + {len(fit_pen)} pen digits (templates and human strokes), {len(fit_non)} non-digits "
          f"({', '.join(nondigits.TRAINING)}); made in {time.perf_counter() - started:.0f} s", flush=True)

    # Each epoch: every non-digit and every pen digit, and as many fresh MNIST digits as non-digits.
    network = GateNet(args.width)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=5e-4)
    per_epoch = len(fit_non) * 2 + len(fit_pen)
    steps = args.epochs * -(-per_epoch // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    for epoch in range(1, args.epochs + 1):
        pick = torch.randint(len(fit_digits), (len(fit_non),), generator=generator)
        mnist_batch = add_continental_strokes(fit_digits[pick], fit_labels[pick], generator)
        images = torch.cat([mnist_batch, fit_pen, fit_non])
        targets = torch.cat([torch.ones(len(pick) + len(fit_pen)), torch.zeros(len(fit_non))])
        loss = binary_epoch(network, optimizer, schedule, images, targets, args.batch_size, generator,
                            lambda batch: augment(batch, generator))
        print(f"epoch {epoch}: loss {loss:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    return network


def binary_epoch(network, optimizer, schedule, images: torch.Tensor, targets: torch.Tensor, batch_size: int,
                 generator: torch.Generator, transform=lambda batch: batch) -> float:
    """One pass over shuffled `images` against 0/1 `targets`, each batch through `transform` first;
    the mean loss. The gate's and the segment gate's trainers share it."""
    shuffle = torch.randperm(len(images), generator=generator)
    network.train()
    total = 0.0
    for start in range(0, len(images), batch_size):
        index = shuffle[start : start + batch_size]
        loss = F.binary_cross_entropy_with_logits(network(normalize(transform(images[index]))), targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        total += loss.item() * len(index)
    return total / len(images)


if __name__ == "__main__":
    main()
