import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from model import BLANK, WeightsError, load_classifier
from model.canvas import sketchpad_value
from tests.conftest import drawn_four


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def test_reads_a_drawn_four_from_a_sketchpad_value(classifier):
    prediction = classifier.predict(sketchpad_value(drawn_four()))
    assert not prediction.blank
    assert prediction.top(1)[0][0] == 4
    assert prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert prediction.image.shape == (28, 28)
    top3 = prediction.top(3)
    assert len(top3) == 3 and top3[0][1] >= top3[1][1] >= top3[2][1]
    assert list(prediction.confidences(3)) == [str(d) for d, _ in top3]


def test_blank_canvas_gives_no_guess(classifier):
    prediction = classifier.predict({"background": None, "layers": [], "composite": None})
    assert prediction is BLANK and prediction.blank
    assert prediction.top(3) == [] and prediction.confidences() == {} and prediction.image is None


def test_batch_keeps_order_and_blanks(classifier):
    four = drawn_four()
    white = np.full_like(four, 255)
    results = classifier.predict_batch([four, white, Image.fromarray(four), None])
    assert [r.blank for r in results] == [False, True, False, True]
    single = classifier.predict(four)
    np.testing.assert_allclose(results[0].probabilities, single.probabilities, atol=1e-5)
    np.testing.assert_allclose(results[2].probabilities, single.probabilities, atol=1e-5)


def test_safe_from_concurrent_threads(classifier):
    canvases = [drawn_four(h, (160, 160)) for h in (90, 150, 210, 280)]
    expected = [classifier.predict(c).probabilities for c in canvases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: classifier.predict(canvases[i % 4]).probabilities, range(200)))
    for i, probabilities in enumerate(results):
        np.testing.assert_allclose(probabilities, expected[i % 4], atol=1e-5)


def test_missing_weights_name_the_train_command(tmp_path):
    with pytest.raises(WeightsError, match="python train.py"):
        load_classifier(tmp_path / "nothing.pt")


def test_classifier_knows_its_registry_entry(classifier):
    from model.registry import NETWORKS

    assert classifier.spec is NETWORKS["cnn"]
    assert load_classifier(arch="mlp").spec is NETWORKS["mlp"]


def test_json_answer_carries_blank_unsure_and_top3(classifier):
    answer = classifier.predict(drawn_four()).as_json()
    assert answer["blank"] is False and answer["unsure"] is False
    assert [row["digit"] for row in answer["top3"]][0] == 4 and len(answer["top3"]) == 3
    assert BLANK.as_json() == {"blank": True, "unsure": False, "top3": []}


def test_unsure_below_the_networks_threshold():
    classifier = load_classifier(gate=None)
    four = drawn_four()
    prediction = classifier.predict(four)
    assert prediction.unsure == (prediction.top(1)[0][1] < classifier.spec.unsure_below)
    strict = load_classifier(gate=None)
    strict.spec = dataclasses.replace(strict.spec, unsure_below=1.01)  # nothing is ever that sure
    assert strict.predict(four).unsure and strict.predict(four).digit_like is None


class HalfGate:
    """model.gate's interface, with a rule simple enough to predict: "a digit" when the
    28x28 input has more ink left of the middle than right of it."""

    threshold = 0.5

    def digit_probability(self, images28):
        return [float(image[:, :14].sum() > image[:, 14:].sum()) for image in images28]


def test_a_gate_makes_readings_unsure_and_reports_digit_likeness():
    gated = load_classifier(gate=HalfGate())
    left, right = np.full((280, 280), 255, np.uint8), np.full((280, 280), 255, np.uint8)
    left[40:240, 40:60] = 0  # a post with a flag to its right: more ink left of centre once centred
    left[40:60, 60:120] = 0
    right[40:240, 200:220] = 0  # and its mirror image
    right[40:60, 140:200] = 0
    a, b = gated.predict_batch([left, right])
    assert (a.digit_like, b.digit_like) != (None, None)
    assert {a.digit_like, b.digit_like} == {0.0, 1.0}
    assert (a if a.digit_like == 0.0 else b).unsure
