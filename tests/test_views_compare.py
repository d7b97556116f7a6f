"""views/compare.py: every network on one drawing, the MNIST recipe against "what most demos do"."""

import base64
import io

import numpy as np
from PIL import Image

from bench.browser import CHROMIUM  # isort: skip  (turns Gradio's analytics off before app)
import app
from model.canvas import sketchpad_value
from views.compare import WAYS, compare_json, readings
from tests.conftest import drawn_four, drawn_number

assert CHROMIUM  # imported for its side effect


def small_four_in_a_corner() -> np.ndarray:
    return drawn_four(height=70, centre=(60, 60))


def picture(html: str) -> np.ndarray:
    source = html.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source))))


def test_every_loaded_network_reads_the_drawing_each_way():
    answers = readings(app.classifiers, small_four_in_a_corner())
    assert set(answers) == set(app.classifiers) and {"cnn", "mlp"} <= set(answers)
    for name, by_way in answers.items():
        assert set(by_way) == set(WAYS)
        assert by_way["mnist"].top(1)[0][0] == 4, name
        assert by_way["mnist"].image.shape == by_way["naive"].image.shape == (28, 28)
    # squeezed whole, a small digit in a corner is a few grey pixels: no network reads it as a 4
    assert all(by_way["naive"].top(1)[0][0] != 4 for by_way in answers.values())


def test_the_switch_changes_the_picture_and_the_bars():
    kept = sketchpad_value(small_four_in_a_corner())["composite"]
    mnist = app.compare.show(kept, "mnist")
    naive = app.compare.show(kept, "naive")
    assert len(mnist) == len(naive) == 1 + 2 * len(app.classifiers)
    networks = len(app.classifiers)
    assert mnist[1:1 + networks] == [""] * networks  # one digit: no number line
    recipe, squeezed = picture(mnist[0]), picture(naive[0])
    assert recipe.shape == squeezed.shape and (recipe != squeezed).any()
    # the recipe centres the digit; squeezing leaves it small in the top-left corner
    assert recipe.shape == (28, 28)  # one PNG pixel per input pixel, enlarged by the browser
    assert recipe[:7, :7].mean() < recipe[7:21, 7:21].mean() and squeezed[:14, :14].mean() > squeezed[14:, 14:].mean()
    assert all(label.value["label"] == "4" for label in mnist[1 + networks:])
    assert all(label.value["label"] != "4" for label in naive[1 + networks:])


def test_nothing_drawn_clears_the_view():
    picture_html, *rest = app.compare.show(None, "mnist")
    numbers, labels = rest[:len(app.classifiers)], rest[len(app.classifiers):]
    assert picture_html == "" and numbers == [""] * len(numbers) and not any(label.value for label in labels)


def test_every_network_reads_a_number():
    lines = app.compare.show(drawn_number("2026")["composite"], "mnist")[1:1 + len(app.classifiers)]
    assert all(line.startswith("Reads the number **") for line in lines)
    assert "Reads the number **2026**" in lines[0]  # the CNN


def test_the_api_answer_is_every_network_each_way_shaped_like_predict():
    answer = compare_json(app.classifiers, drawn_four())
    for by_way in answer.values():
        for reading in by_way.values():
            assert set(reading) == {"blank", "unsure", "top3"} and reading["top3"][0]["digit"] == 4
    blank = compare_json(app.classifiers, np.full((320, 320), 255, np.uint8))
    assert all(reading == {"blank": True, "unsure": False, "top3": []} for by_way in blank.values() for reading in by_way.values())
