"""The weights in assets/ are what the app serves: check them against real data."""

import numpy as np
import pytest

from bench.drawn_digits import load_strokes
from bench.mnist_pictures import picture_accuracy
from training.mnist import load_mnist
from training.replay import mnist_digits
from model import load_classifier
from model.canvas import draw_like_a_person, sketchpad_value
from model.registry import NETWORKS

pytestmark = pytest.mark.slow  # all of MNIST and the pen strokes


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_shipped_weights_carry_their_metadata(arch):
    metadata = load_classifier(arch=arch).metadata
    assert metadata["arch"] == arch
    assert metadata["command"].startswith("python train.py")
    for key in ("arch_kwargs", "mean", "std", "test_accuracy", "seed", "torch_version", "parameters"):
        assert key in metadata


# The issues' floors on the MNIST test set; a network added to the registry must beat 98 % at least.
MNIST_FLOORS = {"cnn": 0.996, "numpy": 0.982}


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_shipped_weights_meet_their_mnist_test_floor(mnist_dir, arch):
    images, labels = load_mnist(mnist_dir, train=False)
    classifier = load_classifier(arch=arch)
    probabilities = classifier.probabilities(images[:, 0].numpy())
    accuracy = float((probabilities.argmax(1) == labels.numpy()).mean())
    assert accuracy >= MNIST_FLOORS.get(arch, 0.98), f"{arch}: MNIST test accuracy {accuracy:.4%}"
    assert accuracy == pytest.approx(classifier.metadata["test_accuracy"], abs=2e-4)  # the metadata tells the truth


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_shipped_weights_meet_it_on_mnist_test_digits_as_pictures_through_the_whole_path(mnist_dir, arch):
    mnist = mnist_digits(mnist_dir, train=False)  # the stored bytes: what a PNG of each digit decodes to
    accuracy = picture_accuracy(load_classifier(arch=arch), mnist.images, mnist.labels)
    assert accuracy >= MNIST_FLOORS.get(arch, 0.98), f"{arch}: MNIST test digits as pictures {accuracy:.4%}"


def test_shipped_cnn_reads_human_drawings_through_the_whole_path(strokes_dir):
    digits = load_strokes(strokes_dir)[::5]  # every 5th digit: all writers, ~1500 drawings
    rng = np.random.default_rng(0)
    classifier = load_classifier()
    values = [sketchpad_value(draw_like_a_person(d["strokes"], rng)) for d in digits]
    accuracy = picture_accuracy(classifier, values, np.array([d["label"] for d in digits]))
    assert accuracy >= 0.97, f"drawn-digit top-1 {accuracy:.2%}"
