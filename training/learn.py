"""Training the numpy two-layer network from nothing, live: the Learn view's loop, queue and data.

    run = Run(hidden=100)
    for point in train(run, Settings(seconds=10)):   # a curve point after each short stretch
        print(point.seconds, point.step, point.loss, point.test_accuracy)

The maths (forward, backward by hand, Adam) is model/numpy_net.py's; this is the loop around
it: batches of shipped MNIST digits, a test on a fixed 1,000 MNIST test digits after each
stretch of training, a stop switch and a time cap. On a server `queued` runs one training at
a time (`QUEUE`), first come first served, on one thread of the lowest priority (`TRAINER`),
so that a class drawing meanwhile keeps its CPU (app.py gives numpy's BLAS one thread).

The digits ship in assets/, so a fresh Space needs no download: the replay set's training
digits (training/replay.py) and assets/mnist_learn.npz, made once by

    python -m training.learn --data-dir ../shared/data/mnist      # seed 0

which holds more training digits (none of them in the replay set) and the fixed test digits:
1,000 drawn at random from MNIST's test set, so that their accuracy estimates the whole test
set's (a balanced 100 of each digit would over-weight the hard ones). MNIST is CC BY-SA 3.0;
see the README's credits.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import math
import numbers
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterator

import numpy as np

from model import Classifier
from model.numpy_net import TwoLayerNet, cross_entropy
from model.paths import ASSETS, SHARED_MNIST
from model.preprocess import MNIST_MEAN, MNIST_STD
from model.registry import spec
from training.replay import balanced_sample, mnist_digits, replay_digits, save_digits

LEARN_DIGITS = ASSETS / "mnist_learn.npz"
# What a student may ask for: {setting: (lowest, highest)}. The time cap keeps one student
# from holding the server's one training for long; the others wait in QUEUE meanwhile.
LIMITS = {"hidden": (10, 800), "learning_rate": (1e-5, 1.0), "batch_size": (1, 1024), "seconds": (1, 120)}
# Between two curve points: short at first, where the curves move fastest, then this long.
STRETCH = 0.5
FIRST_STRETCH = 0.05
# A training that has not been heard of for this long is gone (a closed page): its place in the
# queue goes to the next one. The living ones check in after every stretch or wait of ~0.5 s.
STALE_SECONDS = 10.0
# The pixels as every network here reads them: (x / 255 - mean) / std = x * SCALE - SHIFT.
SCALE, SHIFT = np.float32(1 / (255 * MNIST_STD)), np.float32(MNIST_MEAN / MNIST_STD)


@dataclass(frozen=True)
class Settings:
    """The knobs. Defaults: the network of the speed floor (784 -> 100 -> 10) and what trains it fast."""

    hidden: int = 100
    learning_rate: float = 0.001
    batch_size: int = 64
    seconds: float = 30.0  # training time, not counting a wait for another training

    @classmethod
    def checked(cls, hidden, learning_rate, batch_size, seconds) -> Settings:
        """Settings from what a page or a script sent; a ValueError that says which one is wrong and why."""
        return cls(hidden=within("hidden", hidden, whole=True), learning_rate=within("learning_rate", learning_rate),
                   batch_size=within("batch_size", batch_size, whole=True), seconds=within("seconds", seconds))


def within(name: str, value, whole: bool = False):
    low, high = LIMITS[name]
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or (whole and value != int(value)) or not low <= value <= high):
        raise ValueError(f"{name} must be {'a whole number' if whole else 'a number'} from {low:g} to {high:g}, not {value!r}")
    return int(value) if whole else float(value)


# --- the digits ----------------------------------------------------------------------------------


@functools.cache
def training_digits() -> tuple[np.ndarray, np.ndarray]:
    """(N x 784 uint8 pixels, N labels): the replay set's training digits and mnist_learn.npz's, read once."""
    replay = replay_digits()
    with shipped() as stored:
        images = np.concatenate([replay.images, stored["train_images"]]).reshape(-1, 28 * 28)
        labels = np.concatenate([replay.labels, stored["train_labels"]]).astype(np.int64)
    return images, labels


@functools.cache
def fixed_test_digits() -> tuple[np.ndarray, np.ndarray]:
    """(1000 x 784 float32 inputs, as the network reads them; 1000 labels): the fixed test digits."""
    with shipped() as stored:
        images, labels = stored["test_images"], stored["test_labels"].astype(np.int64)
    return images.reshape(len(images), -1) * SCALE - SHIFT, labels


def shipped():
    if not LEARN_DIGITS.is_file():
        raise FileNotFoundError(f"{LEARN_DIGITS.name} is not in assets/: make it with "
                                "`python -m training.learn --data-dir ../shared/data/mnist`")
    return np.load(LEARN_DIGITS, allow_pickle=False)


# --- one student's network and its training ------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One point of the curves: after `seconds` of training and `step` steps, the mean training
    loss over the stretch just trained, and the accuracy on the fixed test digits."""

    seconds: float
    step: int
    loss: float
    test_accuracy: float

    def as_list(self) -> list:
        return [round(self.seconds, 3), self.step, round(self.loss, 5), round(self.test_accuracy, 4)]


class Run:
    """One network trained from nothing, and how its training went. Safe to read from other
    threads while it trains: reading (forward without remember) changes nothing."""

    def __init__(self, hidden: int, seed: int | None = None):
        self.network = TwoLayerNet(hidden, seed=seed)  # seed None: new random weights each time
        self.rng = np.random.default_rng(seed)
        self.curve: list[Point] = []
        self.per_digit: np.ndarray | None = None  # accuracy on each digit's test digits, at the last point
        self.steps = 0
        self.seconds = 0.0
        self.stopping = threading.Event()  # set by stop(); the training ends after the step it is on
        self.training = threading.Lock()  # held while train() runs on this network
        self.order, self.position = np.empty(0, np.int64), 0

    @property
    def hidden(self) -> int:
        return self.network.hidden

    def stop(self) -> None:
        self.stopping.set()

    def classifier(self) -> Classifier:
        """This network as the app's networks are served: the same preprocessing, no gate."""
        return Classifier(self.network, {"arch": "numpy", "mean": MNIST_MEAN, "std": MNIST_STD}, spec("numpy"))

    def summary(self) -> dict:
        """/learn's answer: {"steps", "seconds", "test_accuracy", "curve": [[seconds, step, loss, test_accuracy], ...]}."""
        return {"steps": self.steps, "seconds": round(self.seconds, 3),
                "test_accuracy": self.curve[-1].test_accuracy if self.curve else None,
                "curve": [point.as_list() for point in self.curve]}

    def batch(self, size: int) -> np.ndarray:
        """The next `size` training digits of a shuffled pass over all of them (a new shuffle each pass)."""
        labels = training_digits()[1]
        if self.position + size > len(self.order):
            self.order, self.position = self.rng.permutation(len(labels)), 0
        chosen = self.order[self.position:self.position + size]
        self.position += size
        return chosen

    def stretch(self, settings: Settings, seconds: float) -> float:
        """Train for `seconds` or until stopped; the mean training loss over its steps (NaN if none)."""
        images, labels = training_digits()
        network, losses = self.network, []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not self.stopping.is_set():
            chosen = self.batch(settings.batch_size)
            loss, dz = cross_entropy(network.forward(images[chosen] * SCALE - SHIFT, remember=True), labels[chosen])
            network.step(network.backward(dz), settings.learning_rate)
            losses.append(loss)
        network.remembered = None  # no batch kept between stretches
        self.steps += len(losses)
        return float(np.mean(losses)) if losses else math.nan

    def measure(self, loss: float) -> Point:
        """Test the network on the fixed test digits and add a point to the curve."""
        inputs, labels = fixed_test_digits()
        right = self.network.forward(inputs).argmax(axis=1) == labels
        self.per_digit = np.array([right[labels == digit].mean() for digit in range(10)])
        point = Point(self.seconds, self.steps, loss, float(right.mean()))
        self.curve.append(point)
        return point


def train(run: Run, settings: Settings) -> Iterator[Point]:
    """Train `run`'s network for `settings.seconds` more, or until run.stop(): a Point after each stretch.

    A network that has not trained yet first gets a point at step 0: the loss of one batch and
    the accuracy of its random weights, about 10 %.
    """
    if not run.training.acquire(blocking=False):
        raise RuntimeError("this network is already training")
    try:
        if run.steps == 0 and not run.curve:
            images, labels = training_digits()
            chosen = run.batch(settings.batch_size)
            yield run.measure(cross_entropy(run.network.forward(images[chosen] * SCALE - SHIFT), labels[chosen])[0])
        spent = 0.0
        while spent < settings.seconds and not run.stopping.is_set():
            started = time.perf_counter()
            # the stretches double from FIRST_STRETCH up to STRETCH: the early curve has points
            loss = run.stretch(settings, min(STRETCH, max(FIRST_STRETCH, run.seconds), settings.seconds - spent))
            elapsed = time.perf_counter() - started
            run.seconds += elapsed
            spent += elapsed
            if math.isnan(loss):  # stopped before a single step
                break
            yield run.measure(loss)
            # the test is part of the time: the curves show the seconds a student waited
            tested = time.perf_counter() - started - elapsed
            run.seconds += tested
            spent += tested
    finally:
        run.training.release()


# --- one training at a time on a server -----------------------------------------------------------


class Ticket:
    def __init__(self):
        self.seen = time.monotonic()


class Queue:
    """Trainings take turns, first come first served: the one at the head trains, the others wait."""

    def __init__(self, stale_seconds: float = STALE_SECONDS):
        self.stale_seconds = stale_seconds
        self.line: collections.deque[Ticket] = collections.deque()
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self) -> Iterator[Ticket]:
        """A place in the line for the block's duration; `ahead(ticket)` says whether it is its turn."""
        ticket = Ticket()
        with self.lock:
            self.line.append(ticket)
        try:
            yield ticket
        finally:
            with self.lock:
                if ticket in self.line:
                    self.line.remove(ticket)

    def ahead(self, ticket: Ticket) -> int:
        """How many trainings are ahead of `ticket` (0: its turn). Asking also tells the queue
        that the ticket's training is still there; trainings that stopped asking are dropped."""
        with self.lock:
            now = ticket.seen = time.monotonic()
            if ticket not in self.line:  # dropped as gone while it was slow to ask: back in line
                self.line.append(ticket)
            for gone in [other for other in self.line if now - other.seen > self.stale_seconds]:
                self.line.remove(gone)
            return self.line.index(ticket)


QUEUE = Queue()
POLL_SECONDS = 0.5  # a waiting training looks again (and tells its page) this often


def behind_the_class() -> None:
    """Give the calling thread the lowest CPU priority (Linux lets each thread have its own).

    A training takes all the CPU it gets; the class's readings must not wait for it. At nice 19
    it gets the cores the readings leave idle: in this process, with a training thread beside a
    thread reading drawings, the readings' p95 went from about 20 ms to 10 ms, at the same number
    of training steps. The GIL still goes to whichever thread asks.
    """
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: the usual priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


# Every stretch of every training runs on this one thread, so trainings never overlap.
TRAINER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="learn", initializer=behind_the_class)


async def queued(run: Run, settings: Settings, queue: Queue = QUEUE, poll: float = POLL_SECONDS) -> AsyncIterator[int | Point]:
    """train() in its turn: yields how many trainings are ahead (an int) while it waits, then the Points.

    Async, so that a waiting training holds no thread: a class of waiting pages costs the server
    nothing. Each stretch runs on the TRAINER thread. A stop while waiting ends it without
    training; a turn lost meanwhile (a page too slow to come back) means waiting again.
    """
    training = train(run, settings)
    try:
        with queue.turn() as ticket:
            while True:
                ahead = queue.ahead(ticket)
                if ahead:
                    if run.stopping.is_set():
                        return
                    yield ahead
                    await asyncio.sleep(poll)
                    continue
                point = await asyncio.wrap_future(TRAINER.submit(next, training, None))
                if point is None:
                    return
                yield point
    finally:
        TRAINER.submit(training.close)  # on the trainer thread: after the stretch it may still be on


async def learn(settings: Settings, queue: Queue = QUEUE, seed: int | None = None) -> dict:
    """A new network trained with `settings` in its turn; Run.summary()'s figures."""
    run = Run(settings.hidden, seed)
    async for _ in queued(run, settings, queue):
        pass
    return run.summary()


# --- making the shipped digits ---------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=SHARED_MNIST, help="folder with MNIST's four .gz files")
    parser.add_argument("--train-per-digit", type=int, default=2500,
                        help="training digits of each class, besides the replay set's (default: 2500)")
    parser.add_argument("--test-digits", type=int, default=1000, help="test digits, drawn at random (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the choice of digits (default: 0)")
    parser.add_argument("--out", type=Path, default=LEARN_DIGITS, help=f"where to write it (default: {LEARN_DIGITS.relative_to(ASSETS.parent)})")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    train_set, test_set = mnist_digits(args.data_dir, train=True), mnist_digits(args.data_dir, train=False)
    # Training digits the replay set already ships would be the same digits twice: left out by their pixels.
    replayed = {image.tobytes() for image in replay_digits().images}
    fresh = np.array([image.tobytes() not in replayed for image in train_set.images])
    candidates = np.flatnonzero(fresh)
    chosen_train = candidates[balanced_sample(train_set.labels[candidates], args.train_per_digit, rng)]
    chosen_test = np.sort(rng.choice(len(test_set.labels), args.test_digits, replace=False))
    save_digits(args.out, train_set, chosen_train, test_set, chosen_test)
    print(f"wrote {args.out}: {len(chosen_train)} training digits (besides the replay set's {len(replayed)}) and "
          f"{len(chosen_test)} test digits, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
