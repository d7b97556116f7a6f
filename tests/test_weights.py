import os
import signal
import subprocess
import sys
import textwrap

import json
import math
import zipfile

import numpy as np
import pytest
import torch

from model.networks import build
from model.gate import GateNet
from model.numpy_net import TwoLayerNet
from model.weights import GATE, WeightsError, load_weights, save_weights
from model.paths import ROOT

METADATA = {"arch": "cnn", "arch_kwargs": {"width": 8}, "mean": 0.1307, "std": 0.3081,
            "test_accuracy": 0.99, "command": "python train.py --width 8", "seed": 3,
            "torch_version": torch.__version__}


def test_metadata_and_weights_survive_a_round_trip(tmp_path):
    network = build("cnn", width=8).eval()
    save_weights(tmp_path / "w.pt", network, METADATA)
    loaded, metadata = load_weights(tmp_path / "w.pt")
    assert metadata == METADATA
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(loaded(x), network(x))
    assert not loaded.training
    # Nothing but tensors and plain values: it loads with weights_only=True.
    torch.load(tmp_path / "w.pt", weights_only=True)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(WeightsError, match="python train.py --arch mlp"):
        load_weights(tmp_path / "mlp.pt")


@pytest.mark.parametrize("content", [b"", b"not a weights file", b"PK\x03\x04truncated zip"])
def test_corrupt_file_says_how_to_get_a_good_one(tmp_path, content):
    (tmp_path / "cnn.pt").write_bytes(content)
    with pytest.raises(WeightsError, match="python train.py"):
        load_weights(tmp_path / "cnn.pt")


def test_truncated_real_file_is_reported(tmp_path):
    save_weights(tmp_path / "cnn.pt", build("cnn", width=8), METADATA)
    data = (tmp_path / "cnn.pt").read_bytes()
    (tmp_path / "cnn.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="python train.py"):
        load_weights(tmp_path / "cnn.pt")


def test_mismatched_file_is_reported(tmp_path):
    save_weights(tmp_path / "cnn.pt", build("cnn", width=8), {**METADATA, "arch_kwargs": {"width": 16}})
    with pytest.raises(WeightsError, match="does not fit"):
        load_weights(tmp_path / "cnn.pt")


def test_pickled_code_is_refused(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format": 1, "metadata": METADATA, "state_dict": {}, "x": Sneaky()}, tmp_path / "cnn.pt")
    with pytest.raises(WeightsError):
        load_weights(tmp_path / "cnn.pt")


@pytest.mark.slow
def test_interrupted_save_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "cnn.pt"
    save_weights(target, build("cnn", width=8), METADATA)
    before = target.read_bytes()
    # A real process killed in the middle of writing a large file.
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        # Ctrl-C raises KeyboardInterrupt even where this was started with SIGINT ignored
        # (a background job of a non-interactive shell inherits that).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from model.weights import write_atomically
        def slow(file):
            file.write(b"x" * 1000)
            file.flush()
            print("writing", flush=True)
            time.sleep(60)
        write_atomically(Path({str(target)!r}), slow)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"writing\n"
    process.send_signal(signal.SIGINT)  # Ctrl-C
    process.wait(timeout=30)
    assert target.read_bytes() == before
    load_weights(target)
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.pt"]  # no temporary left behind


def good_payload():
    network = build("cnn", width=8)
    # Plain values, as save_weights writes them (torch.__version__ is a str subclass).
    return {"format": 1, "metadata": json.loads(json.dumps(METADATA)), "state_dict": {k: v.clone() for k, v in network.state_dict().items()}}


def with_metadata(**changes):
    payload = good_payload()
    payload["metadata"].update(changes)
    return payload


def with_tensor(key, value):
    payload = good_payload()
    payload["state_dict"][key] = value
    return payload


def without(section, key):
    payload = good_payload()
    (payload[section] if section else payload).pop(key)
    return payload


def poisoned(key, value):
    payload = good_payload()
    payload["state_dict"][key] = payload["state_dict"][key].clone().fill_(value)
    return payload


FIRST_CONV = "features.0.0.weight"
# Each crafted file, and a word its WeightsError must contain. Written with torch.save (or as raw
# bytes), so every one goes through the real loader from disk.
BAD_FILES = {
    "std zero": (with_metadata(std=0.0), "std"),
    "std negative": (with_metadata(std=-0.3), "std"),
    "std NaN": (with_metadata(std=math.nan), "std"),
    "std inf": (with_metadata(std=math.inf), "std"),
    "std a string": (with_metadata(std="0.3081"), "non-numeric std"),
    "std a list": (with_metadata(std=[0.3]), "non-numeric std"),
    "std None": (with_metadata(std=None), "non-numeric std"),
    "mean NaN": (with_metadata(mean=math.nan), "mean"),
    "mean a string": (with_metadata(mean="zero"), "non-numeric mean"),
    "weights NaN": (poisoned(FIRST_CONV, math.nan), "NaN"),
    "weights inf": (poisoned("classifier.3.bias", math.inf), "NaN or infinite"),
    "running var NaN": (poisoned("features.0.1.running_var", math.nan), "NaN"),
    "width huge": (with_metadata(arch_kwargs={"width": 100_000}), "parameters"),
    "width absurd": (with_metadata(arch_kwargs={"width": 10**12}), "arch_kwargs"),
    "width negative": (with_metadata(arch_kwargs={"width": -4}), "cannot be built"),
    "width a string": (with_metadata(arch_kwargs={"width": "8"}), "cannot be built"),
    "unknown argument": (with_metadata(arch_kwargs={"depth": 3}), "cannot be built"),
    "mlp hidden huge": (with_metadata(arch="mlp", arch_kwargs={"hidden": [100_000, 100_000]}), "parameters"),
    "mlp hidden too many layers": (with_metadata(arch="mlp", arch_kwargs={"hidden": [8] * 10_000}), "arch_kwargs"),
    "arch_kwargs not a dict": (with_metadata(arch_kwargs=[8]), "arch_kwargs"),
    "arch_kwargs nested": (with_metadata(arch_kwargs={"width": {"a": 1}}), "arch_kwargs"),
    "arch unknown": (with_metadata(arch="resnet"), "unknown network"),
    "arch not a string": (with_metadata(arch=7), "unknown network"),
    "no metadata": (without("", "metadata"), "no metadata"),
    "metadata a list": ({**good_payload(), "metadata": [1, 2]}, "no metadata"),
    "std missing": (without("metadata", "std"), "lacks"),
    "tensor missing": (without("state_dict", FIRST_CONV), "missing"),
    "tensor extra": (with_tensor("extra.weight", torch.zeros(3)), "unexpected"),
    "tensor wrong shape": (with_tensor(FIRST_CONV, torch.zeros(8, 1, 5, 5)), "needs"),
    "tensor not a tensor": (with_tensor(FIRST_CONV, [1.0, 2.0]), "needs"),
    "tensor complex": (with_tensor(FIRST_CONV, torch.zeros(8, 1, 3, 3, dtype=torch.complex64)), "complex"),
    "state_dict not a dict": ({**good_payload(), "state_dict": [1]}, "not a weights file"),
    "wrong format": ({**good_payload(), "format": 2}, "not a weights file"),
    "a bare tensor": (torch.zeros(3), "not a weights file"),
    "random bytes": (bytes(range(256)) * 8, "not a readable"),
    "a zip of nothing": ("zip", "not a readable"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_bad_weights_file_is_a_clear_weights_error(tmp_path, case):
    content, words = BAD_FILES[case]
    path = tmp_path / "cnn.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", b"")
    else:
        torch.save(content, path)
    with pytest.raises(WeightsError) as error:
        load_weights(path)
    message = str(error.value)
    assert words in message, message
    assert "python train.py" in message
    assert str(tmp_path) not in message and "cnn.pt" in message  # the file's name, never the server's folders


def test_the_good_file_the_corpus_is_made_from_loads(tmp_path):
    torch.save(good_payload(), tmp_path / "cnn.pt")
    network, metadata = load_weights(tmp_path / "cnn.pt")
    assert metadata["std"] == METADATA["std"]


def test_missing_file_names_no_folder(tmp_path):
    with pytest.raises(WeightsError) as error:
        load_weights(tmp_path / "cnn.pt")
    assert str(tmp_path) not in str(error.value) and "cnn.pt" in str(error.value)



def test_every_network_and_the_gate_round_trip_through_the_one_format(tmp_path):
    networks = {
        "cnn.pt": (build("cnn", width=8), {"arch_kwargs": {"width": 8}}),
        "mlp.pt": (build("mlp", hidden=(16,)), {"arch": "mlp", "arch_kwargs": {"hidden": [16]}}),
        "gate.pt": (GateNet(4), {"arch": GATE, "arch_kwargs": {"width": 4}, "threshold": 0.4}),
        "numpy.npz": (TwoLayerNet(hidden=8, seed=1), {"arch": "numpy", "arch_kwargs": {"hidden": 8}}),
    }
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    for filename, (network, changes) in networks.items():
        metadata = {**METADATA, **changes}
        save_weights(tmp_path / filename, network, metadata)
        loaded, read = load_weights(tmp_path / filename, GATE if filename == "gate.pt" else None)
        assert read == json.loads(json.dumps(metadata)), filename
        if isinstance(network, TwoLayerNet):
            np.testing.assert_array_equal(loaded.forward(x.reshape(2, -1)), network.forward(x.reshape(2, -1)))
        else:
            network.eval()
            assert torch.equal(loaded(torch.from_numpy(x)), network(torch.from_numpy(x))), filename


def test_a_file_of_another_kind_of_network_is_refused(tmp_path):
    save_weights(tmp_path / "gate.pt", GateNet(4), {**METADATA, "arch": GATE, "arch_kwargs": {"width": 4}, "threshold": 0.4})
    save_weights(tmp_path / "cnn.pt", build("cnn", width=8), METADATA)
    with pytest.raises(WeightsError, match="not a digit network"):
        load_weights(tmp_path / "gate.pt")  # the gate is no classifier
    with pytest.raises(WeightsError, match="python -m training.gate"):
        load_weights(tmp_path / "cnn.pt", GATE)
    with pytest.raises(ValueError, match="saved as .npz"):
        save_weights(tmp_path / "numpy.pt", TwoLayerNet(hidden=8), {**METADATA, "arch": "numpy", "arch_kwargs": {"hidden": 8}})


NUMPY_METADATA = {**METADATA, "arch": "numpy", "arch_kwargs": {"hidden": 8}}


def npz(path, metadata=NUMPY_METADATA, **arrays):
    """An .npz as save_weights writes one, with `arrays` replacing (None: removing) the network's own."""
    params = {**TwoLayerNet(hidden=8, seed=0).params, **arrays}
    np.savez(path, metadata=np.array(json.dumps(metadata)), **{k: v for k, v in params.items() if v is not None})


# The .npz side of the corpus above: the same checks, and the same words, whatever the container.
BAD_NPZ = {
    "weights NaN": ({"W1": np.full((784, 8), np.nan, np.float32)}, "NaN"),
    "weights inf": ({"b2": np.full(10, np.inf, np.float32)}, "NaN or infinite"),
    "wrong shape": ({"W2": np.zeros((8, 9), np.float32)}, "needs (8, 10)"),
    "integers": ({"W1": np.zeros((784, 8), np.int32)}, "needs float32"),
    "complex": ({"W1": np.zeros((784, 8), np.complex64)}, "complex"),
    "array missing": ({"b2": None}, "missing b2"),
    "array extra": ({"W3": np.zeros(3, np.float32)}, "unexpected W3"),
    "std zero": ({"metadata": {**NUMPY_METADATA, "std": 0.0}}, "std"),
    "std a string": ({"metadata": {**NUMPY_METADATA, "std": "x"}}, "non-numeric std"),
    "mean NaN": ({"metadata": {**NUMPY_METADATA, "mean": math.nan}}, "mean"),
    "hidden huge": ({"metadata": {**NUMPY_METADATA, "arch_kwargs": {"hidden": 1_000_000}}}, "parameters"),
    "hidden negative": ({"metadata": {**NUMPY_METADATA, "arch_kwargs": {"hidden": -8}}}, "cannot be built"),
    "hidden a string": ({"metadata": {**NUMPY_METADATA, "arch_kwargs": {"hidden": "8"}}}, "cannot be built"),
    "a torch network": ({"metadata": {**NUMPY_METADATA, "arch": "cnn"}}, "saved as .pt"),
    "metadata a list": ({"metadata": [1, 2]}, "no metadata"),
    "std missing": ({"metadata": {k: v for k, v in NUMPY_METADATA.items() if k != "std"}}, "lacks"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPZ))
def test_every_bad_npz_file_is_a_clear_weights_error(tmp_path, case):
    change, words = BAD_NPZ[case]
    change = dict(change)
    npz(tmp_path / "numpy.npz", change.pop("metadata", NUMPY_METADATA), **change)
    with pytest.raises(WeightsError) as error:
        load_weights(tmp_path / "numpy.npz")
    message = str(error.value)
    assert words in message, message
    assert "python train.py --arch numpy" in message
    assert str(tmp_path) not in message and "numpy.npz" in message


@pytest.mark.parametrize("content", ["pickled metadata", "metadata not JSON", "no metadata", "random bytes", "truncated", "a bare array"])
def test_unreadable_npz_files_are_refused_without_running_code(tmp_path, content):
    path = tmp_path / "numpy.npz"
    params = TwoLayerNet(hidden=8).params
    if content == "pickled metadata":
        np.savez(path, metadata=np.array([NUMPY_METADATA], dtype=object), **params)
    elif content == "metadata not JSON":
        np.savez(path, metadata=np.array("{arch: numpy"), **params)
    elif content == "no metadata":
        np.savez(path, **params)
    elif content == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif content == "truncated":
        npz(path)
        path.write_bytes(path.read_bytes()[:3000])
    else:
        with path.open("wb") as file:
            np.save(file, np.zeros(3))
    with pytest.raises(WeightsError, match="python train.py --arch numpy") as error:
        load_weights(path)
    assert str(tmp_path) not in str(error.value)


def test_a_missing_npz_file_says_how_to_get_one(tmp_path):
    with pytest.raises(WeightsError, match="No weights file numpy.npz. .*python train.py --arch numpy"):
        load_weights(tmp_path / "numpy.npz")
