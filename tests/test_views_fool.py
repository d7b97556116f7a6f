"""views/fool.py: the Fool it view and /fool: the pictures, the new top 3, the figures, whether it transfers."""

import re

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from bench.browser import serving  # isort: skip  (turns Gradio's analytics off before app)
import app
from model.canvas import sketchpad_value
from views.fool import HINT, fool_json
from tests.conftest import drawn_four


def count(html: str, css_class: str) -> int:
    return len(re.findall(rf'<img src="data:image/png;base64,[^"]+" alt="[^"]*" class="{css_class}"', html))


@pytest.mark.parametrize("network", sorted(app.classifiers))
def test_the_view_shows_the_pictures_the_new_top_3_and_the_table_of_the_others(network):
    verdict, pictures, top3, others = app.fooling.show(sketchpad_value(drawn_four()), network, "7")
    assert count(pictures, "original") == count(pictures, "change") == count(pictures, "fooled") == 1
    assert list(top3)[0] == "7" and len(top3) == 3
    assert "now reads a 7" in verdict and "of 784 pixels changed" in verdict and "(L2)" in verdict
    for name, classifier in app.classifiers.items():  # every other network, in the table
        assert (f"| {classifier.spec.title} |" in others) == (name != network)


def test_without_a_target_the_view_says_what_the_network_reads_and_asks_for_one():
    verdict, pictures, top3, others = app.fooling.show(drawn_four(), "cnn", None)
    assert "reads a **4**" in verdict and "Pick the digit" in verdict
    assert count(pictures, "original") == 1 and top3 is None and others == ""


def test_the_target_it_already_reads_changes_nothing():
    verdict, *_ = app.fooling.show(drawn_four(), "cnn", "4")
    assert "already reads a **4**" in verdict


def test_nothing_drawn_gives_the_hint():
    assert app.fooling.show(None, "cnn", "3") == [HINT, "", None, ""]
    assert app.fooling.show(np.full((320, 320), 255, np.uint8), "cnn", "3") == [HINT, "", None, ""]


def test_the_answer_has_the_figures_and_every_other_networks_top_3():
    answer = fool_json(app.classifiers, drawn_four(), 3, "cnn")
    assert set(answer) == {"fooled", "top3", "changed_pixels", "l2", "others"}
    assert answer["fooled"] is True and answer["top3"][0]["digit"] == 3
    assert isinstance(answer["changed_pixels"], int) and 0 < answer["changed_pixels"] <= 784 and answer["l2"] > 0
    assert set(answer["others"]) == set(app.classifiers) - {"cnn"}
    assert all(len(top3) == 3 and set(top3[0]) == {"digit", "probability"} for top3 in answer["others"].values())


@pytest.mark.parametrize("target, network, message", [
    (11, "cnn", "target must be a digit"), (2.5, "cnn", "target must be a digit"), (None, "cnn", "target must be a digit"),
    (3, "resnet", "unknown network 'resnet'"),
])
def test_bad_targets_and_networks_are_refused_with_a_clear_message(target, network, message):
    with pytest.raises(ValueError, match=message):
        fool_json(app.classifiers, drawn_four(), target, network)


# --- /fool, served for real ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    with serving(app.demo, **app.LAUNCH_OPTIONS) as url:
        yield Client(url, verbose=False)


@pytest.fixture
def four_png(tmp_path) -> str:
    path = tmp_path / "four.png"
    Image.fromarray(drawn_four()).save(path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("network", sorted(app.classifiers))
def test_api_fools_each_network(client, four_png, network):
    answer = client.predict(handle_file(four_png), 7, network, api_name="/fool")
    assert answer["fooled"] is True and answer["top3"][0]["digit"] == 7
    assert set(answer["others"]) == set(app.classifiers) - {network}


@pytest.mark.slow
def test_api_fools_the_cnn_when_no_network_is_named(client, four_png):
    answer = client.predict(image=handle_file(four_png), target=1, api_name="/fool")
    assert answer["fooled"] is True and "cnn" not in answer["others"]


@pytest.mark.slow
@pytest.mark.parametrize("target, network, message", [(12, "cnn", "target must be a digit"),
                                                      (3, "resnet", "unknown network")])
def test_api_refuses_bad_requests_with_a_clear_message(client, four_png, target, network, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(four_png), target, network, api_name="/fool")


@pytest.mark.slow
def test_api_refuses_a_blank_picture(client, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(AppError, match="no digit in the picture"):
        client.predict(handle_file(str(blank)), 3, "cnn", api_name="/fool")
