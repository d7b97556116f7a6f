"""Class mode served for real: label through the API, read the board's figures, and the teacher's
controls refused without the key (through gradio_client and a raw POST) and done with it."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from bench.browser import free_port, serving, wait_until_serving  # isort: skip
import app
from classroom import store, teacher
from model.examples import STROKES
from model import live
from model.canvas import draw_like_a_person
from model.paths import ROOT
from tests.conftest import drawn_number

pytestmark = pytest.mark.slow  # serves the app

KEY = "the-teachers-key"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The app served with a fresh class store, live-network folder and teacher key of its own."""
    folder = tmp_path_factory.mktemp("class")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_shared", store.Store(folder / "class.sqlite3"))
        patch.setattr(live, "_default", live.Live(folder / "live"))
        patch.setattr(teacher, "KEY", KEY)
        with serving(app.demo) as url:
            yield url, Client(url, verbose=False)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Digits drawn on the app's canvas at the sizes and places people pick: {digit: [png paths]}."""
    folder = tmp_path_factory.mktemp("drawings")
    rng = np.random.default_rng(0)
    made = {}
    for digit, strokes in STROKES.items():
        for i in range(3):
            path = folder / f"{digit}-{i}.png"
            Image.fromarray(draw_like_a_person(strokes, rng)).save(path)
            made.setdefault(digit, []).append(str(path))
    return made


def stats(client) -> dict:
    return client.predict(api_name="/class_stats")


def test_a_label_through_the_api_is_saved_with_what_the_network_said(classroom, pictures):
    _, client = classroom
    before = stats(client)["drawings"]
    answer = client.predict(handle_file(pictures[3][0]), 3, api_name="/label")
    assert answer["saved"] is True and isinstance(answer["id"], int)
    (row,) = store.shared().rows(ids=[answer["id"]])
    assert row.digit == 3 and 0 <= row.read_as <= 9 and row.read_as == int(np.argmax(row.probabilities))
    assert sum(row.probabilities) == pytest.approx(1, abs=1e-4)
    assert (row.network, row.version) == ("cnn", "shipped") and row.session
    assert row.image28.shape == (28, 28) and row.image28.max() > 0.5  # the network's input, ink = 1
    assert np.array_equal(np.asarray(Image.open(pictures[3][0]).convert("RGBA")),
                          np.asarray(Image.open(io.BytesIO(row.png))))  # the drawing as sent
    after = stats(client)
    assert after["drawings"] == before + 1 and after["students"] >= 1
    assert after["network"] == "cnn" and after["version"] == "shipped"


def test_the_board_figures_count_what_the_class_labelled(classroom, pictures):
    _, client = classroom
    before = stats(client)
    students = [Client(classroom[0], verbose=False) for _ in range(3)]  # three browser sessions
    for student in students:
        for digit in (1, 7):
            student.predict(handle_file(pictures[digit][1]), digit, api_name="/label")
    # one wrong label on purpose: a 1 said to be a 7 is a misread the board must show
    wrong = students[0].predict(handle_file(pictures[1][2]), 7, api_name="/label")["id"]
    after = stats(client)
    assert after["drawings"] == before["drawings"] + 7
    assert after["students"] == before["students"] + 3
    confusion = np.array(after["confusion"]) - np.array(before["confusion"])
    assert confusion.sum() == 7 and confusion[7].sum() == 4 and confusion[1].sum() == 3
    assert after["misreads"][0] == {"id": wrong, "meant": 7, "read": store.shared().rows(ids=[wrong])[0].read_as}
    assert after["accuracy"] == pytest.approx(np.trace(after["confusion"]) / np.sum(after["confusion"]))


@pytest.mark.parametrize("digit", [10, -1, 3.5, None], ids=["10", "-1", "3.5", "none"])
def test_a_label_that_is_no_digit_is_refused_and_nothing_is_saved(classroom, pictures, digit):
    _, client = classroom
    before = store.shared().count()
    with pytest.raises(AppError, match="digit must be a whole number from 0 to 9"):
        client.predict(handle_file(pictures[2][0]), digit, api_name="/label")
    assert store.shared().count() == before


def test_an_unreadable_or_blank_picture_is_refused_and_the_server_keeps_serving(classroom, pictures, tmp_path):
    _, client = classroom
    before = store.shared().count()
    (tmp_path / "notes.png").write_bytes(b"not a picture")
    with pytest.raises(AppError, match="notes.png: not a readable image"):
        client.predict(handle_file(str(tmp_path / "notes.png")), 4, api_name="/label")
    Image.new("L", (320, 320), 255).save(tmp_path / "white.png")
    with pytest.raises(AppError, match="no digit on the pad"):
        client.predict(handle_file(str(tmp_path / "white.png")), 4, api_name="/label")
    assert store.shared().count() == before
    assert client.predict(handle_file(pictures[4][0]), 4, api_name="/label")["saved"] is True


def test_a_number_labelled_through_the_api_joins_the_class_set_only_when_the_counts_match(classroom, tmp_path):
    _, client = classroom
    path = tmp_path / "2026.png"
    Image.fromarray(drawn_number("2026")["composite"]).save(path)
    before, numbers = store.shared().count(), stats(client)["numbers"]
    answer = client.predict(handle_file(str(path)), "2026", api_name="/label_number")
    assert answer["saved"] is True and answer["digits_joined"] is True and isinstance(answer["id"], int)
    assert [row.digit for row in store.shared().rows()[-4:]] == [2, 0, 2, 6]
    assert store.shared().count() == before + 4 and stats(client)["numbers"] == numbers + 1
    # Three digits typed for four read: the number is kept, its crops are not learnt.
    assert client.predict(handle_file(str(path)), "206", api_name="/label_number")["digits_joined"] is False
    assert store.shared().count() == before + 4 and stats(client)["numbers"] == numbers + 2
    with pytest.raises(AppError, match="is not a number"):
        client.predict(handle_file(str(path)), "20x6", api_name="/label_number")
    assert stats(client)["numbers"] == numbers + 2


# --- the teacher's controls ----------------------------------------------------------------------

CONTROLS = ["/finetune", "/revert", "/export", "/reset_class"]


@pytest.mark.parametrize("key", [None, "", "wrong", KEY[:-1], KEY + " x"], ids=["none", "empty", "wrong", "prefix", "longer"])
@pytest.mark.parametrize("control", CONTROLS)
def test_without_the_key_every_teacher_control_refuses_and_does_nothing(classroom, pictures, control, key):
    _, client = classroom
    client.predict(handle_file(pictures[5][0]), 5, api_name="/label")
    before = (store.shared().count(), live.current().version)
    with pytest.raises(AppError, match="needs the teacher key. Nothing was changed"):
        client.predict(key, api_name=control)
    assert (store.shared().count(), live.current().version) == before


@pytest.mark.parametrize("control", ["reset_class", "finetune"])
def test_a_raw_post_without_the_key_is_refused_too(classroom, pictures, control):
    """No gradio_client: the two HTTP calls anyone can make to /gradio_api/call/<name>."""
    url, client = classroom
    client.predict(handle_file(pictures[6][0]), 6, api_name="/label")
    before = store.shared().count()
    event = httpx.post(f"{url}gradio_api/call/{control}", json={"data": ["guess"]}, timeout=30).json()["event_id"]
    answer = httpx.get(f"{url}gradio_api/call/{control}/{event}", timeout=60).text
    assert "event: error" in answer and "teacher key" in answer
    assert store.shared().count() == before > 0


def test_with_the_key_export_gives_the_class_set_and_reset_wipes_it(classroom, pictures, tmp_path):
    _, client = classroom
    client.predict(handle_file(pictures[8][0]), 8, api_name="/label")
    rows = store.shared().rows()
    archive = client.predict(KEY, api_name="/export")
    with zipfile.ZipFile(archive) as opened:
        labels = opened.read("labels.csv").decode().splitlines()
        assert len(labels) == len(rows) + 1
        assert f"drawings/8/{rows[-1].id}.png" in opened.namelist()
    assert client.predict(f"  {KEY}\n", api_name="/reset_class") == {"deleted": len(rows)}  # pasted with spaces
    assert stats(client)["drawings"] == 0 and store.shared().count() == 0


def test_with_the_key_fine_tuning_makes_a_new_live_network_and_revert_brings_back_the_shipped_one(classroom, pictures):
    _, client = classroom
    student = Client(classroom[0], verbose=False)
    for digit, paths in pictures.items():
        for path in paths:
            student.predict(handle_file(path), digit, api_name="/label")
    report = client.predict(KEY, api_name="/finetune")
    assert report["held_out"] > 0 and report["trained_on"] > report["held_out"]
    assert 0 <= report["held_out_before"] <= 1 and 0 <= report["held_out_after"] <= 1
    assert report["mnist_after"] > 0.95 and report["seconds"] > 0
    board = stats(client)
    assert board["version"] == report["version"] != "shipped"
    assert board["last_lesson"]["held_out_after"] == report["held_out_after"]
    # a label given now is kept with the network that read it
    new = client.predict(handle_file(pictures[0][0]), 0, api_name="/label")["id"]
    assert store.shared().rows(ids=[new])[0].version == report["version"]
    assert client.predict(KEY, api_name="/revert") == {"network": "cnn", "version": "shipped"}
    assert stats(client)["version"] == "shipped"


# --- a real server process, killed in the middle of a class --------------------------------------


def test_a_server_killed_during_a_class_keeps_every_acknowledged_label(tmp_path, pictures):
    port = free_port()
    environment = {**os.environ, "DIGIT_CLASS_DB": str(tmp_path / "class.sqlite3"), "DIGIT_LIVE_DIR": str(tmp_path / "live"),
                   "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"

    def start() -> subprocess.Popen:
        server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_until_serving(server, url)
        return server

    server = start()
    acknowledged, stop = [], threading.Event()

    def student(seed: int) -> None:
        client = Client(url, verbose=False)
        paths = [(digit, path) for digit, ps in pictures.items() for path in ps]
        while not stop.is_set():
            digit, path = paths[(seed * 7 + len(acknowledged)) % len(paths)]
            try:
                acknowledged.append(client.predict(handle_file(path), digit, api_name="/label")["id"])
            except Exception:  # the server is gone: from here on nothing is acknowledged
                return

    students = [threading.Thread(target=student, args=(seed,), daemon=True) for seed in range(6)]
    for thread in students:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)  # while the students are still sending
    server.wait()
    stop.set()
    for thread in students:
        thread.join(timeout=60)
    assert len(acknowledged) >= 30
    restarted = start()
    try:
        board = Client(url, verbose=False).predict(api_name="/class_stats")
        kept = {row.id for row in store.Store(tmp_path / "class.sqlite3").rows()}
    finally:
        restarted.kill()
        restarted.wait()
    assert set(acknowledged) <= kept
    assert board["drawings"] == len(kept)


def test_100_labels_leave_no_file_in_the_upload_cache_root(classroom, pictures):
    """/label takes its image through /predict's upload path (views/uploads.ImageUpload): gr.File's
    preprocessing would leave an empty file in the cache root on every call."""
    from gradio.utils import get_upload_folder

    _, client = classroom
    root = Path(get_upload_folder())

    def files_in_root() -> set[str]:
        return {entry.name for entry in root.iterdir() if entry.is_file()} if root.exists() else set()

    before = files_in_root()
    for i in range(100):
        assert client.predict(handle_file(pictures[i % 10][0]), i % 10, api_name="/label")["saved"] is True
    assert files_in_root() - before == set()
