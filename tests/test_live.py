"""The live network: swapped for everyone without a restart, thread-safely, persisted, never in assets/."""

import hashlib
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from model import load_classifier
from model.live import SHIPPED, Live, LiveBusy
from model.paths import ASSETS
from training.replay import replay_digits
from model.paths import ROOT

pytestmark = pytest.mark.slow  # processes and swaps of real networks

IMAGES = replay_digits().floats()[:16]


def other_network():
    """A real network that answers differently from the shipped one: its last layer's bias moved."""
    classifier = load_classifier()
    with torch.no_grad():
        classifier.network.classifier[-1].bias += torch.linspace(-3, 3, 10)
    return classifier.network, {**classifier.metadata, "note": "test"}


def answers(live_network):
    return live_network.classifier.probabilities(IMAGES)


def assets_fingerprint():
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(ASSETS.rglob("*")) if path.is_file()}


def test_swap_serves_the_new_network_and_revert_restores_the_shipped_one(tmp_path):
    live = Live(tmp_path)
    assert live.current().version == SHIPPED
    shipped = answers(live.current())
    assert np.array_equal(shipped, load_classifier().probabilities(IMAGES))

    new = live.swap(*other_network())
    assert live.current() is new and new.version.startswith("class-")
    assert new.path.parent == tmp_path and new.path.is_file()
    assert not np.allclose(answers(new), shipped)

    back = live.revert()
    assert live.current() is back and back.version == SHIPPED
    assert np.array_equal(answers(back), shipped)


def test_readers_during_swaps_see_a_whole_network_every_time(tmp_path):
    live = Live(tmp_path)
    network, metadata = other_network()
    expected = {"shipped": answers(live.current())}
    expected["other"] = answers(live.swap(network, metadata))
    live.revert()
    stop = threading.Event()
    seen, problems = [], []

    def reader():
        while not stop.is_set():
            current = live.current()  # one read per "request", as the app does
            want = expected["shipped" if current.version == SHIPPED else "other"]
            if not np.allclose(answers(current), want, atol=1e-6):
                problems.append(current.version)
            seen.append(current.version)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(6):
            live.swap(network, metadata)
            live.revert()
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not problems
    assert SHIPPED in seen and len(seen) > 20


def test_a_second_change_while_one_runs_is_refused(tmp_path):
    live = Live(tmp_path)
    held, release = threading.Event(), threading.Event()

    def long_change():
        with live.changing():
            held.set()
            release.wait(30)

    thread = threading.Thread(target=long_change)
    thread.start()
    held.wait(30)
    try:
        with pytest.raises(LiveBusy, match="already being changed"):
            live.revert()
        assert live.current().version == SHIPPED  # readers are never blocked
    finally:
        release.set()
        thread.join()
    live.revert()  # free again


def new_process_serves(folder) -> dict:
    """What a freshly started app process serves: version and answers of model.live's holder."""
    script = ("import json, sys; from model import live; from training.replay import replay_digits\n"
              "current = live.current()\n"
              "print(json.dumps({'version': current.version, "
              "'answers': current.classifier.probabilities(replay_digits().floats()[:16]).tolist()}))")
    environment = {**os.environ, "DIGIT_LIVE_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_choice_survives_a_restart(tmp_path):
    live = Live(tmp_path)
    new = live.swap(*other_network())
    after_restart = new_process_serves(tmp_path)
    assert after_restart["version"] == new.version
    assert np.allclose(after_restart["answers"], answers(new), atol=1e-6)

    live.revert()
    after_restart = new_process_serves(tmp_path)
    assert after_restart["version"] == SHIPPED
    assert np.allclose(after_restart["answers"], answers(live.current()), atol=1e-6)


def test_a_damaged_pointer_or_file_falls_back_to_the_shipped_network(tmp_path, caplog):
    live = Live(tmp_path)
    new = live.swap(*other_network())
    new.path.write_bytes(b"PK\x03\x04 half a file")
    assert Live(tmp_path).current().version == SHIPPED
    assert "serving the shipped one" in caplog.text
    (tmp_path / "live.json").write_text("{not json")
    assert Live(tmp_path).current().version == SHIPPED


def test_weights_never_go_into_assets(tmp_path):
    before = assets_fingerprint()
    live = Live(tmp_path)
    for _ in range(2):
        live.swap(*other_network())
        live.revert()
    assert assets_fingerprint() == before
    with pytest.raises(ValueError, match="never overwritten"):
        Live(ASSETS)
    with pytest.raises(ValueError, match="never overwritten"):
        Live(ASSETS / "class")


def test_old_fine_tuned_files_are_pruned_but_never_the_live_one(tmp_path):
    live = Live(tmp_path)
    network, metadata = other_network()
    for _ in range(7):
        current = live.swap(network, metadata)
    files = sorted(tmp_path.glob("cnn-class-*.pt"))
    assert len(files) <= 5 and current.path in files
