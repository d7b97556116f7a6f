"""MNIST for fine-tuning: the replay digits shipped in assets/, and the test set to check against.

Fine-tuning on a class's few hundred drawings alone would make the network forget MNIST;
mixing MNIST digits into every batch ("replay") keeps it. A fresh Hugging Face Space has no
MNIST on disk and may have no internet, so a small balanced subset ships in
assets/mnist_replay.npz (uint8, compressed), made by

    python -m training.replay --data-dir ../shared/data/mnist      # seed 0, writes assets/mnist_replay.npz

It holds training digits for replay and, separately, test digits for the "MNIST after"
figure when the full test set is not on disk. MNIST (Yann LeCun, Corinna Cortes,
Christopher J.C. Burges) is licensed CC BY-SA 3.0; see the README's credits.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from training.mnist import load_mnist, resources
from model.paths import ASSETS, SHARED_MNIST
from model.weights import write_atomically

REPLAY = ASSETS / "mnist_replay.npz"


@dataclass(frozen=True)
class Digits:
    images: np.ndarray  # N x 28 x 28 uint8, ink = 255, as MNIST stores them
    labels: np.ndarray  # N int64
    source: str  # said in reports: which digits these are

    def floats(self) -> np.ndarray:
        """The images as the network's preprocessing makes them: float32 in [0, 1], ink = 1."""
        return self.images.astype(np.float32) / 255.0


def mnist_digits(folder: Path, train: bool) -> Digits:
    """MNIST's full training (60000) or test (10000) split, read and checked by mnist.py."""
    images, labels = load_mnist(folder, train=train)
    # mnist.py gives k / 255 as float32; this gets the stored bytes back exactly.
    as_bytes = images[:, 0].mul(255).round().to(torch.uint8).numpy()
    return Digits(as_bytes, labels.numpy(), f"full MNIST {'training' if train else 'test'} set ({len(labels)})")


def has_mnist(folder: Path = SHARED_MNIST) -> bool:
    """Whether MNIST's four files are in `folder` (mnist.py would otherwise try to download them)."""
    return all((folder / name).is_file() for name in resources())


def replay_digits(path: Path = REPLAY) -> Digits:
    """The shipped MNIST training digits to mix into fine-tuning batches."""
    with np.load(path, allow_pickle=False) as stored:
        return Digits(stored["train_images"], stored["train_labels"].astype(np.int64),
                      f"shipped MNIST replay subset ({len(stored['train_labels'])})")


def mnist_test_set(folder: Path = SHARED_MNIST, path: Path = REPLAY) -> Digits:
    """MNIST's full test set when its files are on disk, else the shipped test subset."""
    if has_mnist(folder):
        return mnist_digits(folder, train=False)
    with np.load(path, allow_pickle=False) as stored:
        return Digits(stored["test_images"], stored["test_labels"].astype(np.int64),
                      f"shipped MNIST test subset ({len(stored['test_labels'])})")


def balanced_sample(labels: np.ndarray, per_digit: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `per_digit` random examples of each digit, sorted."""
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == d), per_digit, replace=False) for d in range(10)]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_MNIST, help="folder with MNIST's four .gz files")
    parser.add_argument("--train-per-digit", type=int, default=500, help="replay digits of each class, from the training set (default: 500)")
    parser.add_argument("--test-per-digit", type=int, default=200, help="test digits of each class, for when the full test set is absent (default: 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the choice of digits (default: 0)")
    parser.add_argument("--out", type=Path, default=REPLAY, help=f"where to write it (default: {REPLAY.relative_to(ASSETS.parent)})")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    train, test = mnist_digits(args.data_dir, train=True), mnist_digits(args.data_dir, train=False)
    chosen_train = balanced_sample(train.labels, args.train_per_digit, rng)
    chosen_test = balanced_sample(test.labels, args.test_per_digit, rng)
    save_digits(args.out, train, chosen_train, test, chosen_test)
    print(f"wrote {args.out}: {len(chosen_train)} training and {len(chosen_test)} test digits, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")


def save_digits(path: Path, train: Digits, chosen_train: np.ndarray, test: Digits, chosen_test: np.ndarray) -> None:
    """The chosen training and test digits as one compressed .npz, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, train_images=train.images[chosen_train], train_labels=train.labels[chosen_train].astype(np.uint8),
                        test_images=test.images[chosen_test], test_labels=test.labels[chosen_test].astype(np.uint8))
    write_atomically(path, lambda file: file.write(buffer.getvalue()))


if __name__ == "__main__":
    main()
