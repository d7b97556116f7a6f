"""MNIST's test digits read as pictures, through the whole path a PNG takes.

train.py scores its network on MNIST's test tensors, already 28x28 and centred. A person who
runs `python -m model predict digit.png` on one of those digits saved as a picture gets the
app's whole path instead: ink found, cropped, scaled and centred again (model/preprocess.py),
then read. This bench reads every test digit both ways in one run and prints both figures;
the picture path is the one the writers issue's MNIST floor is judged on. A 28x28 uint8 array
is what a grayscale PNG of the digit decodes to, so the arrays are read as they are.

    python -m bench.mnist_pictures                 # the shipped CNN
    python -m bench.mnist_pictures --arch numpy    # any name in model/registry.py
    python -m bench.mnist_pictures --weights /tmp/cnn.pt
"""

from __future__ import annotations

import argparse

import numpy as np

from model import load_classifier
from model.registry import DEFAULT, NETWORKS
from training.finetune import accuracy
from training.replay import mnist_test_set

BATCH = 500  # pictures per predict_batch call: memory stays flat, the batch still fills the cores


def picture_accuracy(classifier, pictures, labels: np.ndarray) -> float:
    """Share of `pictures` (anything predict_batch takes: here N x 28 x 28 uint8, MNIST's white on
    black) that predict_batch reads as their label; a blank answer is wrong."""
    read = []
    for start in range(0, len(pictures), BATCH):
        read += [p.top(1)[0][0] if not p.blank else -1 for p in classifier.predict_batch(list(pictures[start:start + BATCH]))]
    return float(np.mean(np.array(read) == labels))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped weights to use (default: {DEFAULT})")
    parser.add_argument("--weights", default=None, help="a weights file instead of the shipped one")
    args = parser.parse_args(argv)
    classifier = load_classifier(args.weights, arch=args.arch)
    mnist = mnist_test_set()
    report = {"source": mnist.source, "tensors": accuracy(classifier, mnist.floats(), mnist.labels),
              "pictures": picture_accuracy(classifier, mnist.images, mnist.labels)}
    print(f"{args.weights or args.arch}, {mnist.source}: as train.py's tensors {report['tensors']:.2%}, "
          f"as pictures through the whole path {report['pictures']:.2%}")
    return report


if __name__ == "__main__":
    main()
