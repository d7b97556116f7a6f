import json

import torch

import train
from model import load_classifier


def test_augmentation_keeps_shape_range_and_varies(mnist_dir):
    images, _ = train.load_mnist(str(mnist_dir), train=False)
    batch = images[:64]
    generator = torch.Generator().manual_seed(0)
    augmented = train.augment(batch, generator)
    assert augmented.shape == batch.shape
    assert augmented.min() >= 0 and augmented.max() <= 1.0 + 1e-6
    assert (augmented - batch).abs().mean() > 0.01  # it really changes the digits
    again = train.augment(batch, torch.Generator().manual_seed(0))
    assert torch.equal(augmented, again)  # and the seed makes it repeatable
    elastic = train.augment(batch, torch.Generator().manual_seed(0), elastic=True)
    assert elastic.shape == batch.shape and not torch.equal(elastic, augmented)


def test_closing_fills_a_small_loop_but_not_a_large_one():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 4:9, 4:9] = 1  # a small ring with a 1-pixel hole
    image[0, 0, 6, 6] = 0
    image[0, 0, 12:24, 12:24] = 1  # a large ring with an 8-pixel hole
    image[0, 0, 14:22, 14:22] = 0
    closed = train.close_small_gaps(image)[0, 0]
    assert closed[6, 6] == 1  # the small hole is filled
    assert closed[14:22, 14:22].sum() == 0  # the large one stays open
    assert torch.equal(closed[image[0, 0] == 1], torch.ones(int(image.sum())))  # no ink is lost
    assert closed.sum() == image.sum() + 1  # and the strokes get no thicker


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
    for plot in ("curves", "confusion", "samples", "misclassified"):
        assert (tmp_path / f"cnn_{plot}.png").read_bytes().startswith(b"\x89PNG")


def test_mlp_trains_too(mnist_dir, tmp_path):
    metrics = train.main(["--arch", "mlp", "--data-dir", str(mnist_dir), "--out", str(tmp_path), "--limit", "3000",
                          "--val-size", "1000", "--epochs", "1", "--no-plots"])
    assert metrics["test_accuracy"] > 0.70
    assert load_classifier(tmp_path / "mlp.pt").metadata["arch"] == "mlp"


def test_same_seed_same_weights(mnist_dir, tmp_path):
    argv = ["--data-dir", str(mnist_dir), "--limit", "512", "--val-size", "256", "--epochs", "1", "--width", "4", "--no-plots"]
    first = train.main([*argv, "--out", str(tmp_path / "a")])
    second = train.main([*argv, "--out", str(tmp_path / "b")])
    assert first["test_accuracy"] == second["test_accuracy"]
    a, b = (torch.load(tmp_path / d / "cnn.pt", weights_only=True)["state_dict"] for d in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_data_dir_with_the_four_gz_files_is_used_offline(mnist_dir):
    root = train.mnist_root(str(mnist_dir))
    assert {p.name for p in (root / "MNIST" / "raw").glob("*.gz")} >= {p.name for p in mnist_dir.glob("*.gz")}
