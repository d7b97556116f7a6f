import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from training import outputs
import train
from model import load_classifier
from model.paths import ROOT
from training.report import PLOTS

pytestmark = pytest.mark.slow  # real training runs


def test_tiny_real_training_run_beats_chance_by_far(mnist_dir, tmp_path):
    argv = ["--data-dir", str(mnist_dir), "--out", str(tmp_path), "--limit", "6000", "--val-size", "1000",
            "--epochs", "3", "--width", "8", "--seed", "7"]
    metrics = train.main(argv)
    assert metrics["test_accuracy"] > 0.80  # chance is 0.10
    classifier = load_classifier(tmp_path / "cnn.pt")
    assert classifier.metadata["command"] == "python train.py " + " ".join(argv)
    assert classifier.metadata["seed"] == 7 and classifier.metadata["arch_kwargs"] == {"width": 8}
    report = json.loads((tmp_path / "cnn_metrics.json").read_text())
    assert len(report["confusion_matrix"]) == 10 and sum(map(sum, report["confusion_matrix"])) == 10000
    assert set(report["per_class_accuracy"]) == {str(d) for d in range(10)}
    for plot in PLOTS:
        assert (tmp_path / f"cnn_{plot}.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cnn.pt", "cnn_metrics.json", *(f"cnn_{p}.png" for p in PLOTS)])


def test_mlp_trains_too(mnist_dir, tmp_path):
    metrics = train.main(["--arch", "mlp", "--data-dir", str(mnist_dir), "--out", str(tmp_path), "--limit", "3000",
                          "--val-size", "1000", "--epochs", "1", "--no-plots"])
    assert metrics["test_accuracy"] > 0.70
    assert load_classifier(tmp_path / "mlp.pt").metadata["arch"] == "mlp"


def test_numpy_net_trains_on_the_same_data_and_augmentation(mnist_dir, tmp_path):
    argv = ["--arch", "numpy", "--data-dir", str(mnist_dir), "--out", str(tmp_path), "--limit", "4000",
            "--val-size", "1000", "--epochs", "2", "--hidden", "128", "--no-plots"]
    metrics = train.main(argv)
    assert metrics["test_accuracy"] > 0.85  # chance is 0.10
    classifier = load_classifier(tmp_path / "numpy.npz")
    assert classifier.spec.engine == "numpy" and classifier.network.hidden == 128
    metadata = classifier.metadata
    assert metadata["command"] == "python train.py " + " ".join(argv) and metadata["arch_kwargs"] == {"hidden": 128}
    assert metadata["parameters"] == 784 * 128 + 128 + 128 * 10 + 10
    for key in ("mean", "std", "test_accuracy", "seed", "training_seconds", "versions"):
        assert key in metadata


@pytest.mark.parametrize("arch, weights", [("cnn", "cnn.pt"), ("numpy", "numpy.npz")])
def test_same_seed_same_weights(mnist_dir, tmp_path, arch, weights):
    argv = ["--arch", arch, "--data-dir", str(mnist_dir), "--limit", "512", "--val-size", "256", "--epochs", "1",
            "--width", "4", "--hidden", "16", "--no-plots"]
    first = train.main([*argv, "--out", str(tmp_path / "a")])
    second = train.main([*argv, "--out", str(tmp_path / "b")])
    assert first["test_accuracy"] == second["test_accuracy"]
    a, b = (load_classifier(tmp_path / d / weights) for d in "ab")
    x = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    assert np.array_equal(a.logits(x), b.logits(x))


def test_one_cycle_climbs_then_anneals():
    rates = [train.one_cycle(step, 100, 1.0) for step in range(100)]
    assert rates[0] == pytest.approx(1 / 25) and max(rates) == pytest.approx(rates[20])
    assert rates[-1] < 1e-3 and all(a >= b for a, b in zip(rates[20:], rates[21:]))


def test_a_run_killed_during_its_final_writes_leaves_the_previous_set_whole(mnist_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    previous = {name: f"previous run's {name}".encode()
                for name in ["numpy.npz", "numpy_metrics.json", *(f"numpy_{p}.png" for p in PLOTS)]}
    for name, content in previous.items():
        (out / name).write_bytes(content)
    command = [sys.executable, "train.py", "--arch", "numpy", "--data-dir", str(mnist_dir), "--out", str(out),
               "--limit", "256", "--val-size", "256", "--epochs", "1", "--hidden", "8"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = out / ".numpy.staging"
    while run.poll() is None and not (staging / "numpy_metrics.json").exists():
        time.sleep(0.002)
    run.send_signal(signal.SIGKILL)  # while the plots are being drawn into the staging folder
    assert run.wait() == -signal.SIGKILL
    assert {name: (out / name).read_bytes() for name in previous} == previous
    outputs.recover(out, "numpy")  # what the next run does first
    assert sorted(os.listdir(out)) == sorted(previous)


def test_a_class_set_exported_from_the_board_trains_too(mnist_dir, tmp_path):
    from classroom.store import Store, png_bytes

    store = Store(tmp_path / "class.sqlite3")
    rng = np.random.default_rng(0)
    for digit in range(10):
        image28 = (rng.random((28, 28)) > 0.8).astype(np.float32)
        store.add(session="s", digit=digit, read_as=digit, probabilities=[0.1] * 10, network="cnn", version="shipped",
                  png=png_bytes((255 - image28 * 255).astype(np.uint8)), image28=image28)
    exported = store.export_zip(tmp_path / "class.zip")
    argv = ["--data-dir", str(mnist_dir), "--limit", "300", "--val-size", "200", "--epochs", "1", "--width", "4",
            "--no-plots", "--out", str(tmp_path / "out")]
    assert train.main([*argv, "--extra-data", str(exported)])["training_images"] == 310


def test_quick_with_strokes_trains_saves_and_records_them(mnist_dir, strokes_dir, tmp_path):
    from model.paths import TRAINING_WRITERS

    argv = ["--quick", "--data-dir", str(mnist_dir), "--strokes", str(strokes_dir), "--out", str(tmp_path),
            "--limit", "2000", "--val-size", "500", "--no-plots"]
    metrics = train.main(argv)
    assert metrics["test_accuracy"] > 0.2  # chance is 0.10: it learns (36 steps are too few for more)
    strokes = load_classifier(tmp_path / "cnn.pt").metadata["trained_on"]["strokes"]
    assert strokes["writers"] == list(TRAINING_WRITERS) and strokes["digits"] > 4900
    assert strokes["per_epoch"] == round(2000 * train.STROKE_SHARE / (1 - train.STROKE_SHARE))
    assert metrics["trained_on"]["mnist"] == 2000


def test_without_the_strokes_folder_it_trains_on_mnist_alone_and_says_so(mnist_dir, tmp_path, capsys):
    argv = ["--data-dir", str(mnist_dir), "--strokes", str(tmp_path / "no such folder"), "--out", str(tmp_path),
            "--limit", "1000", "--val-size", "500", "--epochs", "1", "--width", "4", "--no-plots"]
    train.main(argv)
    said = [line for line in capsys.readouterr().out.splitlines() if "MNIST alone" in line]
    assert len(said) == 1 and "no such folder" in said[0]
    assert load_classifier(tmp_path / "cnn.pt").metadata["trained_on"] == {"mnist": 1000, "strokes": None}
