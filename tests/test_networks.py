import pytest
import torch

from model.networks import build, count_parameters
from model.registry import NETWORKS


@pytest.mark.parametrize("name", [n.name for n in NETWORKS.values() if n.engine == "torch"])
def test_maps_a_batch_of_digits_to_ten_logits(name):
    network = build(name).eval()
    assert network(torch.zeros(5, 1, 28, 28)).shape == (5, 10)


def test_mlp_is_the_classic_baseline():
    linear = [m for m in build("mlp").modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(784, 512), (512, 256), (256, 10)]


def test_cnn_width_scales_the_network():
    assert count_parameters(build("cnn", width=16)) < count_parameters(build("cnn", width=32))


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ValueError, match="cnn"):
        build("resnet")
