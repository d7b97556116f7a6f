"""The gate ("is this a digit at all?"), the non-digits it learns from, and its training script."""

import logging
import math

import numpy as np
import pytest
import torch

from training import nondigits
from model.examples import STROKES
from model import load_classifier
from model.canvas import CANVAS_SIZE, draw_like_a_person, draw_strokes, sketchpad_value
from model.gate import DEFAULT_GATE, Gate, GateNet, load_gate, read_gate
from model.preprocess import to_mnist
from model.weights import WeightsError, save_weights

METADATA = {"arch": "gate", "arch_kwargs": {"width": 4}, "mean": 0.1307, "std": 0.3081, "threshold": 0.5}


@pytest.fixture(scope="module")
def gate() -> Gate:
    return read_gate(DEFAULT_GATE)  # the shipped file must load; a WeightsError here fails the test


@pytest.fixture(scope="module")
def classifier(gate):
    return load_classifier(gate=gate)


def checkerboard(period: int = 40) -> np.ndarray:
    rows, cols = np.indices((CANVAS_SIZE, CANVAS_SIZE))
    return np.where((rows // period + cols // period) % 2, 0, 255).astype(np.uint8)


def test_shipped_gate_has_a_threshold_from_training(gate):
    assert 0.0 < gate.threshold < 1.0
    assert gate.metadata["command"].startswith("python -m training.gate")
    assert set(gate.metadata["trained_on"]).isdisjoint(nondigits.HELD_OUT)


def test_the_app_examples_pass_as_digits(classifier):
    canvases = [draw_strokes(strokes, CANVAS_SIZE * 2 / 3, (CANVAS_SIZE / 2, CANVAS_SIZE / 2)) for strokes in STROKES.values()]
    predictions = classifier.predict_batch([sketchpad_value(c) for c in canvases])
    assert [p.top(1)[0][0] for p in predictions] == list(STROKES)
    assert not [p.digit_like for p in predictions if p.digit_like < classifier.gate.threshold]
    assert not any(p.unsure for p in predictions)


@pytest.mark.parametrize("name, picture", [
    ("uniform noise", np.random.default_rng(0).integers(0, 256, (CANVAS_SIZE, CANVAS_SIZE), dtype=np.uint8)),
    ("sparse pepper", np.where(np.random.default_rng(1).random((CANVAS_SIZE, CANVAS_SIZE)) < 0.05, 0, 255).astype(np.uint8)),
    ("checkerboard", checkerboard(40)),
    ("fine checkerboard", checkerboard(4)),
    ("zig-zag scribble", draw_strokes([[(0, 0), (400, 60), (20, 130), (380, 200), (10, 260), (420, 330)]], 240, (160, 160))),
    ("spiral", draw_strokes(nondigits.spiral(np.random.default_rng(2)), 240, (160, 160))),
    ("letter H", draw_strokes(nondigits.LETTERS["H"], 200, (160, 160))),
])
def test_non_digits_are_not_named_confidently(classifier, name, picture):
    prediction = classifier.predict(picture)
    assert prediction.blank or prediction.unsure, f"{name}: read as {prediction.top(1)} with P(digit) {prediction.digit_like}"
    assert prediction.blank or prediction.digit_like < classifier.gate.threshold, f"{name}: the gate let it through"


def test_json_answer_carries_the_gates_verdict(classifier):
    assert classifier.predict(checkerboard(40)).as_json()["unsure"] is True


@pytest.mark.parametrize("content", [b"", b"not a gate", b"PK\x03\x04truncated zip"])
def test_a_corrupt_gate_file_falls_back_to_the_threshold_alone(tmp_path, caplog, content):
    path = tmp_path / "gate.pt"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="model.gate"):
        assert load_gate(path) is None
    assert "top probability alone" in caplog.text and str(tmp_path) not in caplog.text
    classifier = load_classifier(gate=load_gate(path))
    prediction = classifier.predict(checkerboard(40))
    assert prediction.digit_like is None  # no gate: the threshold decides
    assert prediction.unsure == (prediction.top(1)[0][1] < classifier.spec.unsure_below)


def test_a_missing_gate_file_falls_back(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="model.gate"):
        assert load_gate(tmp_path / "nothing.pt") is None
    assert "python -m training.gate" in caplog.text


class Payload:
    ran = False

    def __reduce__(self):
        return (setattr, (Payload, "ran", True))


def test_loading_never_runs_code(tmp_path):
    path = tmp_path / "gate.pt"
    torch.save({"format": 1, "metadata": METADATA, "state_dict": {"x": Payload()}}, path)
    with pytest.raises(WeightsError, match="not a readable weights file"):
        read_gate(path)
    assert not Payload.ran


@pytest.mark.parametrize("change", [
    {"threshold": 1.5}, {"threshold": math.nan}, {"std": 0.0}, {"mean": "0.1"}, {"arch_kwargs": {"width": 10_000}},
    {"threshold": None}, {"arch": "cnn"},
])
def test_bad_metadata_is_refused(tmp_path, change):
    save_weights(tmp_path / "gate.pt", GateNet(4), METADATA)
    read_gate(tmp_path / "gate.pt")  # the unchanged file is fine
    payload = torch.load(tmp_path / "gate.pt", weights_only=True)
    payload["metadata"] = {**METADATA, **change}
    torch.save(payload, tmp_path / "gate.pt")
    with pytest.raises(WeightsError, match="python -m training.gate"):
        read_gate(tmp_path / "gate.pt")


def test_non_finite_or_misfit_weights_are_refused(tmp_path):
    network = GateNet(4)
    with torch.no_grad():
        network.head[-1].weight[0, 0] = math.nan
    save_weights(tmp_path / "nan.pt", network, METADATA)
    with pytest.raises(WeightsError, match="NaN or infinite"):
        read_gate(tmp_path / "nan.pt")
    save_weights(tmp_path / "wide.pt", GateNet(8), METADATA)  # weights for width 8, metadata says 4
    with pytest.raises(WeightsError, match="does not fit"):
        read_gate(tmp_path / "wide.pt")


def test_every_family_makes_pictures_the_preprocessing_reads():
    for name, make in nondigits.FAMILIES.items():
        rng = np.random.default_rng(0)
        read = [to_mnist(make(rng)) for _ in range(8)]
        assert sum(r is not None for r in read) >= 4, name
    assert set(nondigits.TRAINING).isdisjoint(nondigits.HELD_OUT)
    assert set(nondigits.TRAINING) | set(nondigits.HELD_OUT) == set(nondigits.FAMILIES)


def test_no_letter_a_person_could_read_as_a_digit():
    assert set(nondigits.LETTERS).isdisjoint("OoIlSsZzBbGgqQJjadty")


def test_non_digits_are_reproducible_per_seed():
    first, kinds = nondigits.generate(21, seed=5)
    again, _ = nondigits.generate(21, seed=5)
    other, _ = nondigits.generate(21, seed=6)
    np.testing.assert_array_equal(first, again)
    assert first.shape[1:] == (28, 28) and first.dtype == np.float32 and len(kinds) == len(first)
    assert not np.array_equal(first[: len(other)], other[: len(first)])


def test_wobble_keeps_the_stroke_structure():
    strokes = STROKES[4]
    wobbled = nondigits.wobble(strokes, np.random.default_rng(0))
    assert [len(s) for s in wobbled] == [len(s) for s in strokes]
    assert draw_like_a_person(wobbled, np.random.default_rng(0)).min() == 0


@pytest.mark.slow
def test_train_gate_writes_a_gate_that_loads(tmp_path, mnist_dir):
    from training import gate as train_gate

    metadata = train_gate.main(["--data-dir", str(mnist_dir), "--out", str(tmp_path / "gate.pt"), "--epochs", "1",
                                "--nondigits", "200", "--pen-digits", "100", "--val-size", "500"])
    loaded = read_gate(tmp_path / "gate.pt")
    assert loaded.threshold == metadata["threshold"]
    assert 0.0 <= loaded.threshold <= 1.0
    assert loaded.digit_probability(np.zeros((3, 28, 28), np.float32)).shape == (3,)


def test_threshold_separates_best_but_keeps_the_digits():
    from training.gate import choose_threshold

    digits, non_digits = np.linspace(0.3, 1.0, 1000), np.linspace(0.0, 0.6, 1000)
    threshold = choose_threshold(digits, non_digits, keep=0.98)
    assert np.mean(digits >= threshold) >= 0.98
    assert np.mean(digits >= threshold + 0.01) < 0.98  # and no lower than it must be: it catches the most
    assert choose_threshold(digits, non_digits, keep=0.5) > threshold


@pytest.mark.slow
def test_unsure_bench_meets_the_floors_on_a_fixed_set(strokes_dir):
    from bench.unsure_threshold import FLOORS, main

    # Every 8th human digit keeps all 30 writers in; the non-digits hold every family.
    # The floors hold for what the app uses: the shipped gate and the registry's unsure_below.
    report = main(["--strokes", str(strokes_dir), "--every", "8", "--nondigits", "700"])
    assert report["shipped"]["nondigits_caught"] >= FLOORS["caught"]
    assert report["shipped"]["right_doubted"] <= FLOORS["doubted"]
