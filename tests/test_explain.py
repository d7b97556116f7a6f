"""model/explain.py: integrated gradients keep their defining property, and every layer is seen."""

import numpy as np
import pytest

from model.examples import STROKES
from model import Classifier, load_classifier
from model.canvas import draw_strokes
from model.explain import activations, integrated_gradients
from model.numpy_net import TwoLayerNet
from model.preprocess import to_mnist
from model.registry import spec


def numpy_classifier() -> Classifier:
    """The shipped numpy net when there is one, else an untrained one: the property holds for any weights."""
    if spec("numpy").weights.is_file():
        return load_classifier(arch="numpy")
    return Classifier(TwoLayerNet(hidden=64, seed=0), {"arch": "numpy", "mean": 0.1307, "std": 0.3081}, spec("numpy"))


@pytest.fixture(scope="module", params=["cnn", "mlp", "numpy"])
def classifier(request) -> Classifier:
    return numpy_classifier() if request.param == "numpy" else load_classifier(arch=request.param)


def drawn(digit: int, height: float = 200, centre=(160, 160)) -> np.ndarray:
    return to_mnist(draw_strokes(STROKES[digit], height, centre))


@pytest.mark.slow
@pytest.mark.parametrize("digit", [0, 2, 4, 7, 9])
def test_attributions_add_up_to_the_logit_difference_from_a_blank_pad(classifier, digit):
    image28 = drawn(digit, height=120, centre=(120, 190))
    logits = classifier.logits(np.stack([image28, np.zeros_like(image28)]))
    differences = logits[0] - logits[1]
    totals = np.array([integrated_gradients(classifier, image28, target).sum() for target in range(10)])
    top = int(np.argmax(logits[0]))
    # The top digit's attributions add up to within 5 % of its logit's rise from the blank pad ...
    assert abs(totals[top] - differences[top]) <= 0.05 * abs(differences[top]), (top, totals[top], differences[top])
    # ... and every digit a user can pick ("why not a 7?") to within 5 % of the largest move any
    # digit's score made: the sum's error is about the same for every digit, and a digit whose
    # score hardly moved has a difference so small that 5 % of it is float noise.
    np.testing.assert_allclose(totals, differences, atol=0.05 * np.abs(differences).max())


def test_the_map_is_signed_and_only_where_there_is_ink():
    classifier = load_classifier(arch="cnn")
    image28 = drawn(7)
    attributions = integrated_gradients(classifier, image28, 7)
    assert attributions.shape == (28, 28) and attributions.dtype == np.float32
    assert (attributions[image28 == 0] == 0).all()  # a blank pixel moved nothing from the blank pad
    assert attributions.max() > 0 > attributions.min()  # pixels pushed both ways
    assert integrated_gradients(classifier, image28, 7).tolist() == attributions.tolist()  # no randomness


def test_a_cnn_shows_every_convolution_block_then_the_output():
    layers = activations(load_classifier(arch="cnn"), drawn(3))
    assert [layer.maps.shape for layer in layers] == [(32, 28, 28), (32, 28, 28), (64, 14, 14), (64, 14, 14),
                                                      (128, 7, 7), (10,)]
    assert [layer.name for layer in layers][:2] == ["Convolution block 1", "Convolution block 2"]
    assert "32 filters" in layers[0].caption and "28×28 picture" in layers[0].caption
    assert "halved to 14×14" in layers[2].caption and "brighter" in layers[2].caption
    assert all((layer.maps >= 0).all() for layer in layers)  # after ReLU, and probabilities


@pytest.mark.parametrize("arch, hidden", [("mlp", [512, 256]), ("numpy", None)])
def test_dense_networks_show_their_hidden_units(arch, hidden):
    classifier = numpy_classifier() if arch == "numpy" else load_classifier(arch=arch)
    layers = activations(classifier, drawn(5))
    sizes = hidden or [classifier.network.hidden]
    assert [len(layer.maps) for layer in layers] == [*sizes, 10]
    assert "all 784 pixels" in layers[0].caption and "units" in layers[0].caption
    assert layers[-1].name == "Output"


def test_the_output_layer_is_what_the_classifier_says(classifier):
    image28 = drawn(8)
    output = activations(classifier, image28)[-1].maps
    np.testing.assert_allclose(output, classifier.probabilities(image28[None])[0], atol=1e-5)
