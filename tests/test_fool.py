"""model/fool.py: a small change that makes each network read the digit picked; in range, and really read so."""

import numpy as np
import pytest

from model import Classifier, load_classifier
from model.fool import CONFIDENCE, LEVELS, fool, target_gradient
from model.numpy_net import TwoLayerNet
from model.preprocess import to_mnist
from model.registry import NETWORKS, spec
from tests.conftest import drawn_four

SHIPPED = {name: load_classifier(arch=name, gate=None) for name in NETWORKS}  # every registry network
FOUR = to_mnist(drawn_four())


def on_levels(picture: np.ndarray) -> bool:
    return bool(np.allclose(picture * LEVELS, np.round(picture * LEVELS), atol=1e-3))


@pytest.mark.parametrize("network", sorted(SHIPPED))
@pytest.mark.parametrize("target", [0, 1, 3, 7, 9])
def test_the_fooled_picture_is_read_as_the_target_and_stays_in_range(network, target):
    classifier = SHIPPED[network]
    fooled = fool(classifier, FOUR, target)
    assert fooled.reads_target and fooled.steps > 0
    # read again the way every reading goes, from the picture alone
    probabilities = classifier.probabilities(fooled.picture[None])[0]
    assert int(probabilities.argmax()) == target and probabilities[target] >= CONFIDENCE - 1e-4
    assert np.allclose(probabilities, fooled.probabilities)
    assert fooled.picture.shape == (28, 28) and fooled.picture.dtype == np.float32
    assert 0 <= fooled.picture.min() and fooled.picture.max() <= 1 and on_levels(fooled.picture)
    # a small change: well under the drawing itself (the networks trained on pen strokes too take more
    # change to turn a 4 into a 0 than the MNIST-only ones did), and the figures describe it
    assert 0 < fooled.l2 < 0.6 * np.linalg.norm(fooled.original)
    assert np.isclose(fooled.l2, np.linalg.norm(fooled.picture - fooled.original))
    assert fooled.changed_pixels == np.count_nonzero(np.round((fooled.picture - fooled.original) * LEVELS))
    assert np.abs(fooled.original - FOUR).max() <= 0.5 / LEVELS + 1e-6  # the drawing, on 8-bit levels


def test_a_drawing_already_read_as_the_target_is_left_alone():
    fooled = fool(SHIPPED["cnn"], FOUR, 4)
    assert fooled.reads_target and fooled.steps == 0 and fooled.changed_pixels == 0 and fooled.l2 == 0


def test_a_network_that_holds_out_is_said_to_and_the_picture_stays_in_range():
    fooled = fool(SHIPPED["cnn"], FOUR, 8, max_steps=1, step=0.05)
    assert not fooled.reads_target and fooled.steps == 1
    assert 0 <= fooled.picture.min() and fooled.picture.max() <= 1 and on_levels(fooled.picture)
    assert fooled.top(1)[0][0] == 4


@pytest.mark.parametrize("target", [4.5, -1, 10])
def test_a_target_that_is_no_digit_is_refused(target):
    with pytest.raises(ValueError, match="digit from 0 to 9"):
        fool(SHIPPED["cnn"], FOUR, target)


def test_the_numpy_nets_input_gradient_from_its_maths_matches_finite_differences():
    classifier = Classifier(TwoLayerNet(hidden=32, seed=0), {"arch": "numpy", "mean": 0.1307, "std": 0.3081}, spec("numpy"))
    picture = FOUR.astype(np.float64).astype(np.float32)
    _, gradient = target_gradient(classifier, picture, 3)

    def loss(image):
        return -np.log(classifier.probabilities(image[None].astype(np.float32))[0, 3].astype(np.float64))

    rng = np.random.default_rng(0)
    for row, column in zip(rng.integers(4, 24, 8), rng.integers(4, 24, 8)):
        up, down = picture.copy(), picture.copy()
        up[row, column] += 1e-2
        down[row, column] -= 1e-2
        assert np.isclose(gradient[row, column], (loss(up) - loss(down)) / 2e-2, rtol=0.05, atol=1e-3)


@pytest.mark.parametrize("network", sorted(SHIPPED))
def test_a_step_against_the_gradient_raises_the_targets_probability(network):
    classifier = SHIPPED[network]
    probabilities, gradient = target_gradient(classifier, FOUR, 7)
    assert np.allclose(probabilities, classifier.probabilities(FOUR[None])[0], atol=1e-5)
    stepped = np.clip(FOUR - 0.3 * gradient / np.linalg.norm(gradient), 0, 1)
    assert classifier.probabilities(stepped[None])[0, 7] > probabilities[7]
