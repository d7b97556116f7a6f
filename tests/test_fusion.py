"""The reading copy with BatchNorm folded into the convolutions: same answers, original untouched."""

import numpy as np
import pytest
import torch
from torch import nn

from model import load_classifier
from model.fusion import for_reading
from model.gate import GateNet
from model.networks import CNN, MLP
from model.preprocess import normalize


def trained_looking(network: nn.Module) -> nn.Module:
    """Random weights, and BatchNorm statistics far from their defaults, as after training."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 1, generator=generator)
                module.running_var.uniform_(0.2, 3.0, generator=generator)
                module.weight.normal_(1, 0.3, generator=generator)
                module.bias.normal_(0, 0.3, generator=generator)
    return network.eval()


@pytest.mark.parametrize("network", [CNN(width=8), GateNet(width=4), MLP(hidden=(32,))], ids=["cnn", "gate", "mlp"])
def test_the_fused_copy_answers_as_the_network_and_leaves_it_as_it_was(network):
    torch.manual_seed(0)
    network = trained_looking(network)
    before = {key: value.clone() for key, value in network.state_dict().items()}
    images = torch.randn(5, 1, 28, 28)
    reading = for_reading(network)
    with torch.inference_mode():
        assert torch.allclose(reading(images), network(images), atol=1e-5, rtol=1e-4)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in reading.modules())
    norms = sum(isinstance(module, nn.BatchNorm2d) for module in network.modules())
    assert norms == {"CNN": 5, "GateNet": 4, "MLP": 0}[type(network).__name__]  # the original keeps its own
    assert all(torch.equal(value, before[key]) for key, value in network.state_dict().items())


def test_a_classifier_reads_through_the_fused_copy_and_explains_with_the_original():
    classifier = load_classifier()
    images = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    with torch.inference_mode():
        plain = classifier.network(torch.from_numpy(normalize(images, classifier.mean, classifier.std)).unsqueeze(1))
    assert np.allclose(classifier.logits(images), plain.numpy(), atol=1e-4)
    assert any(isinstance(module, nn.BatchNorm2d) for module in classifier.network.modules())
