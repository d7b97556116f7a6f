"""The weights in assets/ are what the app serves: check them against real data."""

import numpy as np
import pytest

import train
from bench.drawn_digits import load_strokes
from model import load_classifier
from model.canvas import draw_like_a_person, sketchpad_value
from model.registry import NETWORKS


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_shipped_weights_carry_their_metadata(arch):
    metadata = load_classifier(arch=arch).metadata
    assert metadata["arch"] == arch
    assert metadata["command"].startswith("python train.py")
    for key in ("arch_kwargs", "mean", "std", "test_accuracy", "seed", "torch_version", "parameters"):
        assert key in metadata


def test_shipped_cnn_scores_at_least_99_6_on_the_mnist_test_set(mnist_dir):
    images, labels = train.load_mnist(str(mnist_dir), train=False)
    classifier = load_classifier()
    probabilities = classifier.probabilities(images[:, 0].numpy())
    accuracy = float((probabilities.argmax(1) == labels.numpy()).mean())
    assert accuracy >= 0.996, f"MNIST test accuracy {accuracy:.4%}"


def test_shipped_cnn_reads_human_drawings_through_the_whole_path(strokes_dir):
    digits = load_strokes(strokes_dir)[::5]  # every 5th digit: all writers, ~1500 drawings
    rng = np.random.default_rng(0)
    classifier = load_classifier()
    values = [sketchpad_value(draw_like_a_person(d["strokes"], rng)) for d in digits]
    guesses = [p.top(1)[0][0] if not p.blank else -1 for p in classifier.predict_batch(values)]
    accuracy = float(np.mean([g == d["label"] for g, d in zip(guesses, digits)]))
    assert accuracy >= 0.97, f"drawn-digit top-1 {accuracy:.2%}"
