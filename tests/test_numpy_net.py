import numpy as np
import pytest

from model.numpy_net import TwoLayerNet, cross_entropy


def loss_of(network, x, labels):
    return cross_entropy(network.forward(x), labels, smoothing=0.1)[0]


def test_hand_derived_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    network = TwoLayerNet(hidden=16, seed=3)
    network.params = {k: v.astype(np.float64) for k, v in network.params.items()}  # float64: exact enough to compare
    x, labels = rng.standard_normal((5, 784)), rng.integers(0, 10, 5)
    _, dz = cross_entropy(network.forward(x, remember=True), labels, smoothing=0.1)
    grads = network.backward(dz, input_gradient=True)
    checked = {"x": x, **network.params}
    for name, value in checked.items():
        assert grads[name].shape == value.shape
        for index in [tuple(rng.integers(0, s) for s in value.shape) for _ in range(20)]:
            saved = value[index]
            value[index] = saved + 1e-6
            up = loss_of(network, x, labels)
            value[index] = saved - 1e-6
            down = loss_of(network, x, labels)
            value[index] = saved
            assert grads[name][index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8), (name, index)


def test_adam_steps_lower_the_loss():
    rng = np.random.default_rng(1)
    network = TwoLayerNet(hidden=32, seed=0)
    x, labels = rng.standard_normal((64, 784)).astype(np.float32), rng.integers(0, 10, 64)
    before = loss_of(network, x, labels)
    for _ in range(20):
        _, dz = cross_entropy(network.forward(x, remember=True), labels)
        network.step(network.backward(dz), lr=1e-3, weight_decay=5e-4)
    assert loss_of(network, x, labels) < before / 2



def test_shapes_are_those_of_a_built_network():
    assert {name: value.shape for name, value in TwoLayerNet(hidden=8).params.items()} == TwoLayerNet.shapes(8)
