"""The teacher's key: from TEACHER_KEY, or made at start and printed like Jupyter's token."""

import gradio as gr
import pytest

from classroom import teacher


def test_the_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEACHER_KEY", "  from-the-space-secret \n")
    assert teacher.make_key() == ("from-the-space-secret", False)


@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_without_one_a_random_key_is_made_each_start(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("TEACHER_KEY", raising=False)
    else:
        monkeypatch.setenv("TEACHER_KEY", value)
    (first, made), (second, _) = teacher.make_key(), teacher.make_key()
    assert made and first != second and len(first) >= 16


def test_a_made_key_is_printed_and_a_given_one_is_not(monkeypatch, capsys):
    monkeypatch.setattr(teacher, "KEY", "printed-key")
    monkeypatch.setattr(teacher, "MADE_HERE", True)
    teacher.announce()
    assert "printed-key" in capsys.readouterr().out
    monkeypatch.setattr(teacher, "KEY", "secret-key")
    monkeypatch.setattr(teacher, "MADE_HERE", False)
    teacher.announce()
    out = capsys.readouterr().out
    assert "secret-key" not in out and "TEACHER_KEY" in out


@pytest.mark.parametrize("key", [None, "", "secret", "secret-ke", "secret-key2", "SECRET-KEY", 42],
                         ids=["none", "empty", "prefix", "one-short", "one-long", "case", "a-number"])
def test_only_the_key_opens(monkeypatch, key):
    monkeypatch.setattr(teacher, "KEY", "secret-key")
    assert not teacher.is_teacher(key)
    with pytest.raises(gr.Error, match="needs the teacher key. Nothing was changed"):
        teacher.require(key)
    assert teacher.is_teacher("secret-key") and teacher.is_teacher(" secret-key\n")  # pasted with spaces
    teacher.require("secret-key")
