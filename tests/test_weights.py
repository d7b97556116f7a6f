import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from model.networks import build
from model.weights import WeightsError, load_weights, save_weights
from tests.conftest import ROOT

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


def test_interrupted_save_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "cnn.pt"
    save_weights(target, build("cnn", width=8), METADATA)
    before = target.read_bytes()
    # A real process killed in the middle of writing a large file.
    script = textwrap.dedent(f"""
        import os, sys, time
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
