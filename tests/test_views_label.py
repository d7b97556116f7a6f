"""Say what you meant for a whole number: typed, checked, kept, and its digits learnt only when they match."""

import gradio as gr
import pytest

from bench.browser import CHROMIUM  # isort: skip  (turns Gradio's analytics off before app)
import app  # noqa: F401  (the live network every label is read with)
from classroom import store
from tests.conftest import drawn_number
from model import live
from views.board import figures_markdown
from views.label import checked_number, label_drawing, label_number


@pytest.fixture()
def class_store(tmp_path, monkeypatch):
    opened = store.Store(tmp_path / "class.sqlite3")
    monkeypatch.setattr(store, "_shared", opened)
    return opened


def request(session: str = "s1") -> gr.Request:
    return gr.Request(session_hash=session)


def test_a_typed_number_with_the_right_count_of_digits_joins_the_class_set(class_store):
    counter, box = label_number(drawn_number("2026"), " 2026 ", request())
    assert box == "" and "Saved" in counter and "not added" not in counter
    assert [row.digit for row in class_store.rows()] == [2, 0, 2, 6]
    stats = class_store.stats()
    assert stats["numbers"] == 1 and stats["numbers_read_exactly"] == 1


def test_a_count_that_differs_keeps_the_number_but_learns_no_digit(class_store):
    counter, _ = label_number(drawn_number("2026"), "206", request())
    assert "not added" in counter and class_store.count() == 0
    assert class_store.stats()["numbers"] == 1 and class_store.stats()["numbers_read_exactly"] == 0


def test_right_on_a_number_keeps_it_as_read_and_a_digit_button_is_refused(class_store):
    label_drawing(drawn_number("47"), None, request())
    assert [row.digit for row in class_store.rows()] == [4, 7]
    with pytest.raises(gr.Error, match="type the number"):
        label_drawing(drawn_number("47"), 4, request())


@pytest.mark.parametrize("typed", ["", "12a", "1.2.3", "--4", "1234567890123"])
def test_what_is_not_a_number_gets_a_clear_message(typed):
    with pytest.raises(gr.Error) as error:
        checked_number(typed)
    assert "number" in error.value.message


def test_a_minus_sign_and_a_comma_are_read_as_people_type_them():
    assert checked_number("−17") == "-17" and checked_number("3,14") == "3.14"


def test_the_board_counts_numbers_read_exactly(class_store):
    label_number(drawn_number("2026"), "2026", request())
    label_number(drawn_number("47"), "41", request("s2"))
    assert "**1** of 2 read exactly" in figures_markdown(class_store.stats(), live.current())
