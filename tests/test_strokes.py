import json

import numpy as np
import pytest
import torch

from model.examples import STROKES
from model.paths import MEASURING_WRITERS, TRAINING_WRITERS
from model.preprocess import BOX, CENTRE, SIZE, centre_of_mass
from training.strokes import (
    NotTrainingWriters, StrokeDigits, load_strokes, measuring_digits, render, render_many, training_digits, writer_range,
)
from tests.conftest import FOUR
from tests.test_preprocess import ink_extent

# The app's example digits and the test "4", as stroke digits of a training writer.
DIGITS = [{"label": label, "writer": "pendigits-tra-w01", "strokes": strokes} for label, strokes in [*STROKES.items(), (4, FOUR)]]


def test_the_split_is_twenty_training_and_ten_measuring_writers():
    assert len(TRAINING_WRITERS) == 20 and len(MEASURING_WRITERS) == 10
    assert not set(TRAINING_WRITERS) & set(MEASURING_WRITERS)
    assert TRAINING_WRITERS[-1] == "pendigits-tra-w20" and MEASURING_WRITERS[0] == "pendigits-tra-w21"


def test_the_loaders_keep_to_their_writers(strokes_dir):
    training, measuring = training_digits(strokes_dir), measuring_digits(strokes_dir)
    assert {d["writer"] for d in training} == set(TRAINING_WRITERS)
    assert {d["writer"] for d in measuring} == set(MEASURING_WRITERS)
    assert len(training) + len(measuring) == len(load_strokes(strokes_dir, TRAINING_WRITERS + MEASURING_WRITERS))
    assert {d["writer"] for d in training_digits(strokes_dir, writer_range("1-16"))} == set(TRAINING_WRITERS[:16])


def test_measuring_writers_cannot_be_asked_for_as_training_writers(tmp_path):
    with pytest.raises(NotTrainingWriters, match="pendigits-tra-w21"):
        training_digits(tmp_path, ["pendigits-tra-w05", "pendigits-tra-w21"])
    with pytest.raises(NotTrainingWriters):
        writer_range("15-25")
    assert writer_range("1,3,17-18") == ("pendigits-tra-w01", "pendigits-tra-w03", "pendigits-tra-w17", "pendigits-tra-w18")


def test_no_stroke_of_a_measuring_writer_reaches_a_training_batch(strokes_dir, tmp_path):
    # The real file's digits, with every measuring writer's relabelled 10: a 10 in a batch came from one of them.
    lines = (strokes_dir / "pendigits-writers-01-30.jsonl").read_text().splitlines()
    digits = [json.loads(line) for line in lines if line.strip()][::10]
    for digit in digits:
        if digit["writer"] in MEASURING_WRITERS:
            digit["label"] = 10
    assert {d["label"] for d in digits} >= {0, 9, 10}
    (tmp_path / "strokes.jsonl").write_text("".join(json.dumps(d) + "\n" for d in digits))

    loaded = training_digits(tmp_path)
    assert loaded and 10 not in {d["label"] for d in loaded}
    strokes = StrokeDigits.prepare(loaded, share=0.5, mnist_per_epoch=400, epochs=2, seed=0, variants=1)
    assert set(strokes.record()["writers"]) <= set(TRAINING_WRITERS) and strokes.digits == len(loaded)
    mnist = torch.zeros(400, 1, 28, 28), torch.zeros(400, dtype=torch.long)
    images, labels = strokes.mix(*mnist, torch.Generator().manual_seed(0))
    assert len(images) == len(labels) == 800
    assert set(labels[400:].tolist()) <= set(range(10))


def test_same_seed_same_pictures_in_this_process_or_a_pool():
    first, labels = render_many(DIGITS, 16, seed=3, workers=1)
    again, same_labels = render_many(DIGITS, 16, seed=3, workers=2)
    assert np.array_equal(first, again) and np.array_equal(labels, same_labels)
    other, _ = render_many(DIGITS, 16, seed=4, workers=1)
    assert not np.array_equal(first, other)
    # Each digit once before any twice, and a second rendering of a digit is not a copy of the first.
    assert sorted(labels[: len(DIGITS)].tolist()) == sorted(d["label"] for d in DIGITS)
    assert all(not np.array_equal(first[i], first[j]) for i in range(5) for j in range(len(DIGITS), 16) if labels[i] == labels[j])


@pytest.mark.parametrize("seed", range(3))
def test_a_rendered_stroke_digit_comes_out_shaped_like_mnist(seed):
    rng = np.random.default_rng(seed)
    for digit in DIGITS:
        image28 = render(digit["strokes"], rng)
        assert image28.shape == (SIZE, SIZE) and image28.dtype == np.float32
        assert 0.0 <= image28.min() and image28.max() <= 1.0
        assert max(ink_extent(image28, threshold=0.2)) in (BOX, BOX + 1)  # as in test_preprocess: a faint edge may add one
        row, col = centre_of_mass(image28)
        assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_an_epoch_mixes_in_its_share_of_renderings():
    strokes = StrokeDigits.prepare(DIGITS, share=0.2, mnist_per_epoch=40, epochs=3, seed=0, workers=1)
    assert strokes.per_epoch == 10 and len(strokes.images) == 30  # different renderings for every epoch
    assert len(StrokeDigits.prepare(DIGITS, 0.2, 40, 3, seed=0, variants=2, workers=1).images) == 22  # at most 2 of each
    mnist = torch.zeros(40, 1, 28, 28), torch.full((40,), -1)
    images, labels = strokes.mix(*mnist, torch.Generator().manual_seed(0))
    assert images.shape == (50, 1, 28, 28) and (labels[:40] == -1).all() and (labels[40:] >= 0).all()
