"""training/learn.py: training the numpy net from nothing, the stop switch, the queue, the shipped digits."""

import asyncio
import threading
import time

import numpy as np
import pytest

from training.learn import (LEARN_DIGITS, LIMITS, Queue, Run, Settings, fixed_test_digits, learn, queued, train,
                            training_digits)


def test_the_shipped_digits_are_mnist_shaped_and_hold_every_digit():
    images, labels = training_digits()
    inputs, test_labels = fixed_test_digits()
    assert images.dtype == np.uint8 and images.shape == (len(labels), 784) and len(labels) >= 20_000
    assert inputs.dtype == np.float32 and inputs.shape == (1000, 784) and len(test_labels) == 1000
    assert set(np.unique(labels)) == set(np.unique(test_labels)) == set(range(10))
    assert LEARN_DIGITS.stat().st_size < 5_000_000  # small enough to ship


def short_training(run: Run, steps: int = 600) -> list:
    """The points of a training stopped after `steps` steps (about a second on a quiet machine)."""
    points = []
    for point in train(run, Settings(hidden=run.hidden, seconds=60)):
        points.append(point)
        if run.steps >= steps:
            run.stop()
    return points


def test_a_short_training_rises_well_above_chance():
    run = Run(hidden=50, seed=0)
    points = short_training(run)
    first, last = points[0], points[-1]
    assert first.step == 0 and first.test_accuracy < 0.3  # random weights: about chance
    assert last.test_accuracy > 0.85 and last.loss < first.loss
    assert run.steps == last.step >= 600 and run.seconds < 60
    assert [p.seconds for p in points] == sorted(p.seconds for p in points)
    assert run.per_digit.shape == (10,) and (run.per_digit > 0.5).all()
    summary = run.summary()
    assert summary["steps"] == run.steps and summary["test_accuracy"] == last.test_accuracy
    assert all(len(point) == 4 for point in summary["curve"]) and summary["curve"][-1][1] == run.steps


def test_starting_again_trains_the_same_network_on():
    run = Run(hidden=20, seed=0)
    list(train(run, Settings(hidden=20, seconds=0.5)))
    steps, weights = run.steps, run.network.params["W1"].copy()
    list(train(run, Settings(hidden=20, seconds=0.5)))
    assert run.steps > steps and run.curve[0].step == 0  # one curve, on from where it was
    assert not np.array_equal(weights, run.network.params["W1"])


def test_stop_really_stops_it():
    run = Run(hidden=100, seed=0)
    first_point = threading.Event()

    def training():
        for _ in train(run, Settings(seconds=60)):
            first_point.set()

    worker = threading.Thread(target=training)
    worker.start()
    assert first_point.wait(30)
    run.stop()
    stopped_at = time.monotonic()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - stopped_at < 2  # ends after the step it is on
    steps = run.steps
    time.sleep(0.3)
    assert run.steps == steps and run.seconds < 30
    assert not run.training.locked()


def test_a_network_trains_once_at_a_time():
    run = Run(hidden=10, seed=0)
    first = train(run, Settings(hidden=10, seconds=1))
    next(first)
    with pytest.raises(RuntimeError, match="already training"):
        next(train(run, Settings(hidden=10, seconds=1)))
    first.close()
    assert next(train(run, Settings(hidden=10, seconds=1)))


@pytest.mark.parametrize("name, value", [("hidden", 5), ("hidden", 801), ("hidden", 10.5), ("hidden", "100"),
                                         ("learning_rate", 0), ("learning_rate", float("nan")), ("batch_size", 0),
                                         ("batch_size", True), ("seconds", 121), ("seconds", None)])
def test_settings_out_of_bounds_are_refused_naming_the_setting(name, value):
    values = {"hidden": 100, "learning_rate": 0.001, "batch_size": 64, "seconds": 10, name: value}
    low, high = LIMITS[name]
    with pytest.raises(ValueError, match=f"{name} must be .* from {low:g} to {high:g}"):
        Settings.checked(**values)


def test_settings_take_whole_floats_as_the_page_sends_them():
    assert Settings.checked(100.0, 0.01, 32.0, 5) == Settings(hidden=100, learning_rate=0.01, batch_size=32, seconds=5.0)


# --- the queue: one training at a time on a server -------------------------------------------


async def trainings_side_by_side(queue: Queue, count: int, seconds: float):
    """`count` trainings started at once on `queue`: for each, (what it yielded, when it trained)."""
    async def one(index: int):
        run = Run(hidden=10, seed=index)
        news, stretches = [], []
        async for item in queued(run, Settings(hidden=10, seconds=seconds), queue, poll=0.05):
            news.append(item)
            if not isinstance(item, int):
                stretches.append(time.monotonic())
        return news, stretches

    return await asyncio.gather(*(one(index) for index in range(count)))


def test_the_queue_lets_one_training_run_at_a_time_and_the_others_wait_their_turn():
    queue = Queue()
    results = asyncio.run(trainings_side_by_side(queue, 3, seconds=0.6))
    # the first trains at once; the second waits behind one, the third behind two (then one)
    assert not any(isinstance(item, int) for item in results[0][0])
    assert [item for item in results[1][0] if isinstance(item, int)][0] == 1
    assert [item for item in results[2][0] if isinstance(item, int)][0] == 2
    assert all(stretches for _, stretches in results)
    # never two at once: each one's training lies wholly after the one before it
    spans = [(stretches[0], stretches[-1]) for _, stretches in results]
    assert spans[0][1] < spans[1][0] and spans[1][1] < spans[2][0]
    assert not queue.line  # every place given back


def test_a_training_stopped_while_waiting_never_trains():
    queue = Queue()

    async def scenario():
        with queue.turn() as holder:
            assert queue.ahead(holder) == 0
            run = Run(hidden=10, seed=0)
            waiting = queued(run, Settings(hidden=10, seconds=5), queue, poll=0.05)
            assert await waiting.__anext__() == 1  # one ahead: waiting, and saying so
            run.stop()
            return [item async for item in waiting], run

    rest, run = asyncio.run(scenario())
    assert rest == [] and run.steps == 0 and not run.curve


def test_a_training_that_stops_asking_loses_its_place():
    queue = Queue(stale_seconds=0.2)
    with queue.turn() as gone, queue.turn() as waiting:
        assert queue.ahead(waiting) == 1
        time.sleep(0.3)  # `gone` never asks again: its page was closed
        assert queue.ahead(waiting) == 0
        assert gone not in queue.line


def test_learn_trains_a_new_network_in_its_turn_and_gives_its_figures():
    answer = asyncio.run(learn(Settings(hidden=20, seconds=1), Queue(), seed=0))
    assert set(answer) == {"steps", "seconds", "test_accuracy", "curve"}
    assert answer["steps"] > 0 and 1 <= answer["seconds"] < 3 and 0 <= answer["test_accuracy"] <= 1
    assert answer["curve"][0][1] == 0 and answer["curve"][-1][3] == answer["test_accuracy"]
