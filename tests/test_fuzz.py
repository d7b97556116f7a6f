"""Every generated odd or broken picture gets the answer a person would expect (issue 8).

The cases, and what each should give, live in bench/fuzz_cases.py; `python -m bench.fuzz_cases`
prints the counts. Here each case is one test, so a failure names the picture.
"""

import os

import pytest
import torch

from bench.fuzz_cases import BLANK_OR_UNSURE, ERROR, as_expected, cases
from model import load_classifier
from model.picture import UnreadableImage

CASES = cases()


@pytest.fixture(scope="module")
def classifier():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one small picture at a time: more threads only spin
    yield load_classifier()
    torch.set_num_threads(threads)


def test_there_are_enough_cases_of_every_kind():
    assert len(CASES) >= 200
    assert len({case.name for case in CASES}) == len(CASES)
    expected = {case.expected if not case.expected.startswith("digit") else "digit" for case in CASES}
    assert expected == {"digit", BLANK_OR_UNSURE, ERROR}
    assert len({case.expected for case in CASES if case.expected.startswith("digit")}) == 10  # every digit


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case, classifier, tmp_path):
    if "FIFO" in case.name and not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are a POSIX thing")
    value = case.make(tmp_path)
    if case.expected == ERROR:
        with pytest.raises((UnreadableImage, ValueError)) as error:
            classifier.predict(value)
        message = str(error.value)
        assert message and str(tmp_path) not in message, message  # says what is wrong, names no server folder
        return
    prediction = classifier.predict(value)
    actual = "blank" if prediction.blank else f"{'unsure' if prediction.unsure else 'digit'} {prediction.top(1)[0][0]}"
    assert as_expected(case.expected, actual), f"expected {case.expected}, got {actual} ({prediction.top(3)})"
