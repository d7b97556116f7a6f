"""views/learn.py: the Learn view's training updates, Stop, Reset, waiting its turn, each session its own network, /learn."""

import asyncio
import itertools
import json
import time
import uuid

import httpx
import pandas as pd
import pytest
from gradio.state_holder import SessionState
from gradio_client import Client
from gradio_client.exceptions import AppError

from bench.browser import serving  # isort: skip  (turns Gradio's analytics off before app)
import app
from model.canvas import sketchpad_value
from training import learn as training
from views.learn import HINT, Desk, stop
from tests.conftest import drawn_four

DRAWING = sketchpad_value(drawn_four())
OUTPUTS = ["status", "loss", "accuracy", "reading", "comparison", "weights", "per_digit"]


async def updates(desk: Desk, seconds: float = 1.0, hidden: int = 20, during=None) -> list[dict]:
    """Every update the Start button's handler sends, as {output: value}; `during(update)` is called on each."""
    sent = []
    async for values in app.learning.start(DRAWING, desk, hidden, 0.001, 64, seconds):
        sent.append(dict(zip(OUTPUTS, values)))
        if during:
            during(sent[-1])
    return sent


def stop_after(desk: Desk, updates: int):
    """A `during` for updates(): Stop after that many updates. (How fast the network learns is
    tests/test_learn.py's; the trainer runs at the lowest priority, so a busy machine slows it.)"""
    seen = itertools.count(1)

    def during(update):
        if next(seen) >= updates:
            stop(desk)

    return during


def test_start_trains_and_shows_the_curves_the_reading_the_weights_and_each_digit():
    desk = Desk()
    sent = asyncio.run(updates(desk, seconds=60, during=stop_after(desk, 4)))
    assert len(sent) >= 4  # live: an update per stretch of training
    assert all("Training" in update["status"] for update in sent[:-1]) and "Stopped after" in sent[-1]["status"]
    last = sent[-1]
    assert isinstance(last["loss"], pd.DataFrame) and len(last["loss"]) == len(desk.run.curve) >= 4
    assert last["accuracy"]["test accuracy (%)"].iloc[-1] == 100 * desk.run.curve[-1].test_accuracy
    assert len(last["reading"]) == 3  # the pad's drawing, read by this network
    assert last["weights"].count('class="weights"') == 1 and "20 of 20" in last["weights"]
    assert last["per_digit"].splitlines()[-1].count("|") == 12  # a share for each of the 10 digits
    assert "**yours** (784 → 20 → 10" in last["comparison"] and "| CNN | **4** (" in last["comparison"]


def test_stop_ends_the_training_and_says_so():
    desk = Desk()
    sent = asyncio.run(updates(desk, seconds=60, during=lambda update: stop(desk)))
    assert "Stopped after" in sent[-1]["status"] and desk.run.seconds < 5
    steps = desk.run.steps
    assert not desk.training and desk.run.steps == steps


def test_reset_gives_a_new_random_network_at_the_next_start():
    desk = Desk()
    asyncio.run(updates(desk, seconds=1))
    first = desk.run
    cleared = app.learning.reset(desk)
    assert desk.run is None and cleared[0] == HINT and cleared[1] is None and cleared[3] is None
    asyncio.run(updates(desk, seconds=1))
    assert desk.run is not first and desk.run.curve[0].step == 0


def test_while_another_training_runs_the_page_says_it_waits():
    desk = Desk()

    async def waiting_then_stopped():
        with training.QUEUE.turn() as ahead:  # another page's training holds the turn
            training.QUEUE.ahead(ahead)
            return await updates(desk, seconds=5, during=lambda update: stop(desk))

    sent = asyncio.run(waiting_then_stopped())
    assert "Waiting for another training" in sent[0]["status"] and "1 ahead" in sent[0]["status"]
    assert "Stopped before it started" in sent[-1]["status"] and desk.run.steps == 0


def test_two_sessions_do_not_see_each_others_network():
    # what Gradio hands each session's handlers for the view's gr.State
    first, second = (SessionState(app.demo)[app.learning.desk._id] for _ in range(2))
    assert isinstance(first, Desk) and isinstance(second, Desk) and first is not second
    asyncio.run(updates(first, seconds=60, during=stop_after(first, 2)))
    assert first.run is not None and second.run is None
    reading, comparison = app.learning.show(DRAWING, second)
    assert reading is None and "**yours**" not in comparison  # the shipped networks only: it trained none
    reading, comparison = app.learning.show(DRAWING, first)
    assert len(reading) == 3 and "**yours**" in comparison


# --- served: the sessions of real pages, and /learn --------------------------------------------


@pytest.fixture(scope="module")
def url():
    with serving(app.demo, **app.LAUNCH_OPTIONS) as served:
        yield served


def start_in_session(url: str, session: str, hidden: int, seconds: float) -> str:
    """Press Start as the page does (the queue's join, then its event stream); the last status shown."""
    fn_index = next(index for index, block_fn in app.demo.fns.items() if block_fn.fn == app.learning.start)
    body = {"data": [None, None, hidden, 0.001, 64, seconds], "event_data": None, "fn_index": fn_index,
            "trigger_id": app.learning.start_button._id, "session_hash": session}
    with httpx.Client(base_url=url, timeout=60) as http:
        http.post("gradio_api/queue/join", json=body).raise_for_status()
        status = None
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") in ("process_generating", "process_completed"):
                    assert message.get("success", True), message
                    status = latest_status(message["output"]["data"][0], status)
                if message.get("msg") == "process_completed":
                    return status
    raise AssertionError("the training never completed")


def latest_status(sent, before: str | None) -> str | None:
    """A Markdown output as the stream sends it: the value, or a diff against the value before."""
    if isinstance(sent, str):
        return sent
    for action, _, value in sent:  # [["replace", [], "new text"]] or [["append", [], "more text"]]
        before = value if action == "replace" else (before or "") + value
    return before


@pytest.mark.slow
def test_each_page_session_trains_its_own_network(url):
    first, second = uuid.uuid4().hex[:11], uuid.uuid4().hex[:11]
    assert "Trained for 1." in start_in_session(url, first, 10, 1)
    # a network of the same size: were it the first session's, it would go on to 2 s of training
    assert "Trained for 1." in start_in_session(url, second, 10, 1)
    assert "Trained for 2." in start_in_session(url, first, 10, 1)  # the first session's own, trained on


@pytest.mark.slow
def test_api_learn_trains_with_its_defaults_and_gives_the_figures(url):
    client = Client(url, verbose=False)
    answer = client.predict(seconds=2, api_name="/learn")
    assert set(answer) == {"steps", "seconds", "test_accuracy", "curve"}
    assert answer["steps"] > 0 and 2 <= answer["seconds"] < 4 and 0 <= answer["test_accuracy"] <= 1
    seconds, step, loss, accuracy = answer["curve"][-1]
    assert step == answer["steps"] and accuracy == answer["test_accuracy"] and loss > 0
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/learn"]["parameters"]
    assert {p["parameter_name"]: p["parameter_default"] for p in info} == {
        "hidden": 100, "learning_rate": 0.001, "batch_size": 64, "seconds": 10.0}


@pytest.mark.slow
def test_api_learn_refuses_settings_out_of_bounds(url):
    with pytest.raises(AppError, match="hidden must be a whole number from 10 to 800"):
        Client(url, verbose=False).predict(hidden=5000, seconds=1, api_name="/learn")


@pytest.mark.slow
def test_api_learn_calls_take_turns(url):
    client = Client(url, verbose=False)
    started = time.monotonic()
    jobs = [client.submit(hidden=10, seconds=1, api_name="/learn") for _ in range(2)]
    answers = [job.result(timeout=60) for job in jobs]
    assert all(1 <= answer["seconds"] < 2.5 for answer in answers)  # each trained its own second...
    assert time.monotonic() - started >= 2  # ... one after the other
