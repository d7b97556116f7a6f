import json

import numpy as np
import pytest

from model import WeightsError, load_classifier
from model.numpy_net import TwoLayerNet, cross_entropy, load


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


def test_save_and_load_round_trip_without_pickle(tmp_path):
    network = TwoLayerNet(hidden=8, seed=0)
    metadata = {"arch": "numpy", "arch_kwargs": {"hidden": 8}, "mean": 0.1307, "std": 0.3081}
    network.save(tmp_path / "n.npz", metadata)
    again, read = load(tmp_path / "n.npz")
    assert read == metadata
    for name, value in network.params.items():
        np.testing.assert_array_equal(again.params[name], value)
    with np.load(tmp_path / "n.npz", allow_pickle=False) as archive:
        assert json.loads(str(archive["metadata"])) == metadata


def bad_file(tmp_path, name, **change):
    params = TwoLayerNet(hidden=8, seed=0).params
    metadata = {"arch": "numpy", "mean": 0.1307, "std": 0.3081}
    for key, value in change.items():
        (params if key in params else metadata)[key] = value
    path = tmp_path / f"{name}.npz"
    np.savez(path, metadata=np.array(json.dumps(metadata)), **params)
    return path


@pytest.mark.parametrize("name, change, message", [
    ("nan", {"W1": np.full((784, 8), np.nan, np.float32)}, "NaN"),
    ("shape", {"W2": np.zeros((8, 9), np.float32)}, "expected float"),
    ("std0", {"std": 0.0}, "positive"),
    ("stdtext", {"std": "x"}, "finite number"),
    ("arch", {"arch": "cnn"}, "numpy network"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, name, change, message):
    with pytest.raises(WeightsError, match=message) as caught:
        load_classifier(bad_file(tmp_path, name, **change))
    assert str(tmp_path) not in str(caught.value)  # no server paths in messages


def test_pickled_and_random_files_are_refused(tmp_path):
    pickled = tmp_path / "p.npz"
    np.savez(pickled, metadata=np.array([{"arch": "numpy"}], dtype=object), **TwoLayerNet(hidden=8).params)
    random = tmp_path / "r.npz"
    random.write_bytes(np.random.default_rng(0).bytes(5000))
    for path in (pickled, random, tmp_path / "missing.npz"):
        with pytest.raises(WeightsError, match="python train.py --arch numpy"):
            load_classifier(path)
