"""views/board.py without a browser: the matrix's buttons, what a click may ask for, the drawings it opens.
(The click itself, in Chromium: tests/test_class_browser.py.)"""

import re

import gradio as gr
import numpy as np
import pytest

from classroom import store
from tests.test_store import label
from views import board


@pytest.fixture
def class_store(tmp_path, monkeypatch):
    opened = store.Store(tmp_path / "class.sqlite3")
    monkeypatch.setattr(store, "_shared", opened)
    return opened


def test_every_filled_cell_and_every_digit_of_the_matrix_is_a_button_with_its_count():
    confusion = np.zeros((10, 10), int)
    confusion[7, 1], confusion[7, 7], confusion[4, 4] = 3, 12, 5
    table = board.confusion_table(confusion)
    cells = re.findall(r'<button data-meant="(\d)" data-read="(\d)"[^>]*>(\d+)</button>', table)
    assert sorted(cells) == [("4", "4", "5"), ("7", "1", "3"), ("7", "7", "12")]
    assert len(re.findall(r'<button data-meant="\d" title', table)) == 10  # the rows' digits
    assert len(re.findall(r'<button data-read="\d"', table)) == 10  # the columns' digits
    assert 'title="meant 7, read 1: 3 drawings"' in table


def test_each_column_of_the_per_digit_table_opens_its_digit(class_store):
    for meant, read in [(7, 1), (7, 7), (3, 3)]:
        label(class_store, meant, read)
    table = board.per_digit_table(class_store.stats())
    assert len(re.findall(r'data-meant="7"', table)) == 3  # digit, read right, drawings: one column
    assert re.search(r'data-meant="7"[^>]*>50%<', table) and re.search(r'data-meant="3"[^>]*>1<', table)


@pytest.mark.parametrize("data, expected", [
    ({"meant": "7", "read": "1"}, {"meant": 7, "read": 1}),
    ({"meant": "7", "read": None}, {"meant": 7, "read": None}),
    ({"read": 0}, {"meant": None, "read": 0}),
    (None, {"meant": None, "read": None}),  # a raw call with no event data: every drawing
])
def test_a_click_names_digits(data, expected):
    assert board.chosen(data) == expected


@pytest.mark.parametrize("data", [{"meant": "10"}, {"meant": -1}, {"read": 3.5}, {"meant": True}, {"read": "7; DROP"},
                                  {"meant": [7]}])
def test_anything_else_sent_as_a_click_gets_a_clear_message(data):
    with pytest.raises(gr.Error, match="must be a digit from 0 to 9"):
        board.chosen(data)


def test_the_drawings_behind_a_click_come_newest_first_with_what_was_meant_and_read(class_store):
    ids = [label(class_store, 7, 1, session=f"browser-session-{i}") for i in range(3)]
    label(class_store, 7, 7)
    html = board.drawings_html({"meant": 7, "read": 1})
    assert "Meant 7, read 1: 3 drawings, newest first" in html
    assert [int(i) for i in re.findall(r'<figure data-id="(\d+)"', html)] == ids[::-1]
    assert html.count("<figcaption>meant 7, read 1</figcaption>") == 3 and "browser-session" not in html
    assert "Every 7: 4 drawings" in board.drawings_html({"meant": 7, "read": None})
    assert "Meant 2, read 5: 0 drawings" in board.drawings_html({"meant": 2, "read": 5})
    assert board.HINT in board.drawings_html(None)


def test_a_cell_with_more_drawings_than_a_screenful_says_how_many_there_are(class_store):
    for seed in range(board.SHOWN + 2):
        label(class_store, 4, 4, seed=seed)
    html = board.drawings_html({"meant": 4, "read": 4})
    assert f"{board.SHOWN + 2} drawings, the newest {board.SHOWN} shown" in html and html.count("<figure") == board.SHOWN
