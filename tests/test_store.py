"""The class store: what goes in comes out, under concurrent writers, across a killed process."""

import csv
import io
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from classroom import store as store_module
from classroom.store import SCHEMA_VERSION, Store, png_bytes, read_class_set
from model.paths import ROOT
from tests.conftest import drawn_four


def label(store: Store, digit: int = 4, read_as: int | None = 4, session: str = "s1", seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    probabilities = np.full(10, 0.01)
    if read_as is not None:
        probabilities[read_as] = 0.91
    return store.add(session=session, digit=digit, read_as=read_as, probabilities=probabilities, network="cnn",
                     version="original", png=png_bytes(drawn_four()), image28=rng.random((28, 28), np.float32))


def test_a_label_comes_back_as_it_went_in(tmp_path):
    store = Store(tmp_path / "class.db")
    image28 = np.random.default_rng(1).random((28, 28), np.float32)
    png = png_bytes(drawn_four())
    new = store.add(session="abc", digit=7, read_as=1, probabilities=np.eye(10)[1], network="cnn",
                    version="original", png=png, image28=image28)
    (row,) = store.rows()
    assert (row.id, row.session, row.digit, row.read_as, row.network, row.version) == (new, "abc", 7, 1, "cnn", "original")
    assert row.probabilities == [0.0] * 1 + [1.0] + [0.0] * 8
    assert np.array_equal(row.image28, image28)  # exactly: a later recipe may reprocess from either
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(row.png))), drawn_four())
    assert store.count() == 1 and store.count(session="abc") == 1 and store.count(session="other") == 0


@pytest.mark.parametrize("bad", [dict(digit=10), dict(digit=-1), dict(probabilities=[0.5, 0.5]),
                                 dict(image28=np.zeros((28, 27)))], ids=["digit-10", "digit--1", "2-probs", "28x27"])
def test_bad_rows_are_refused_and_nothing_is_kept(tmp_path, bad):
    store = Store(tmp_path / "class.db")
    fields = dict(session="s", digit=3, read_as=3, probabilities=np.full(10, 0.1), network="cnn", version="original",
                  png=b"png", image28=np.zeros((28, 28)))
    with pytest.raises((ValueError, sqlite3.IntegrityError)):
        store.add(**{**fields, **bad})
    assert store.count() == 0


def test_stats_count_accuracy_confusion_and_misreads(tmp_path):
    store = Store(tmp_path / "class.db")
    assert store.stats()["accuracy"] is None and store.stats()["drawings"] == 0
    right = [label(store, 4, 4, "a"), label(store, 4, 4, "b"), label(store, 1, 1, "a")]
    wrong = [label(store, 4, 9, "c"), label(store, 7, 1, "a")]
    stats = store.stats()
    assert stats["drawings"] == 5 and stats["students"] == 3 and stats["last_id"] == max(right + wrong)
    assert stats["accuracy"] == pytest.approx(3 / 5)
    assert stats["per_digit"]["4"] == pytest.approx(2 / 3) and stats["per_digit"]["1"] == 1.0
    assert stats["per_digit"]["7"] == 0.0 and stats["per_digit"]["0"] is None
    confusion = np.array(stats["confusion"])
    assert confusion.sum() == 5 and confusion[4, 4] == 2 and confusion[4, 9] == 1 and confusion[7, 1] == 1
    assert stats["misreads"] == [{"id": wrong[1], "meant": 7, "read": 1}, {"id": wrong[0], "meant": 4, "read": 9}]


def test_the_drawings_behind_a_cell_or_a_digit_come_newest_first(tmp_path):
    store = Store(tmp_path / "class.db")
    seven_as_one = [label(store, 7, 1, "a"), label(store, 7, 1, "b")]
    seven = label(store, 7, 7, "a")
    label(store, 4, 1, "c")
    seven_as_one.append(label(store, 7, 1, "c"))
    unread = label(store, 7, None, "a")  # kept before the network could read it: in no cell, yet a 7
    total, rows = store.drawings_of(meant=7, read=1)
    assert total == 3 and [row.id for row in rows] == seven_as_one[::-1]
    assert all((row.digit, row.read_as) == (7, 1) for row in rows)
    total, rows = store.drawings_of(meant=7)
    assert total == 5 and [row.id for row in rows] == sorted([*seven_as_one, seven, unread], reverse=True)
    assert store.drawings_of(read=1)[0] == 4 and store.drawings_of()[0] == 6
    total, rows = store.drawings_of(meant=7, newest=2)  # the count is all of them, the rows only the newest
    assert total == 5 and [row.id for row in rows] == [unread, seven_as_one[-1]]
    assert store.drawings_of(meant=0) == (0, [])


def test_reset_deletes_every_drawing(tmp_path):
    store = Store(tmp_path / "class.db")
    for seed in range(3):
        label(store, seed=seed)
    assert store.reset() == 3
    assert store.count() == 0 and store.rows() == [] and store.stats()["drawings"] == 0
    assert label(store) > 0  # still usable


def test_the_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_CLASS_DB", str(tmp_path / "from-env" / "class.db"))
    store = Store()
    label(store)
    assert store.path == tmp_path / "from-env" / "class.db" and store.path.is_file()


def test_the_default_path_is_in_the_git_ignored_data_folder(monkeypatch):
    monkeypatch.delenv("DIGIT_CLASS_DB", raising=False)
    path = store_module.default_path()
    assert path.parent == ROOT / "data"
    assert "/data/" in (ROOT / ".gitignore").read_text().split()


# --- schema version -----------------------------------------------------------------------------


def test_a_new_store_has_the_current_schema_version_and_wal(tmp_path):
    store = Store(tmp_path / "class.db")
    assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_an_older_file_migrates_it_and_keeps_the_rows(tmp_path, monkeypatch):
    path = tmp_path / "class.db"
    kept = label(Store(path))
    step = ["ALTER TABLE drawings ADD COLUMN lesson TEXT NOT NULL DEFAULT 'first'"]
    monkeypatch.setattr(store_module, "MIGRATIONS", {**store_module.MIGRATIONS, SCHEMA_VERSION + 1: step})
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    migrated = Store(path)
    assert migrated.schema_version == SCHEMA_VERSION + 1
    assert [row.id for row in migrated.rows()] == [kept]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT lesson FROM drawings").fetchall() == [("first",)]
    Store(path)  # opening again runs nothing twice (a second ALTER would fail)


def test_a_file_from_a_newer_app_is_refused_untouched(tmp_path):
    path = tmp_path / "class.db"
    label(Store(path))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 5,))
    with pytest.raises(RuntimeError, match="newer than this app"):
        Store(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION + 5
        assert db.execute("SELECT COUNT(*) FROM drawings").fetchone()[0] == 1


# --- concurrent writers -------------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_writers_from_threads_lose_nothing(tmp_path):
    store = Store(tmp_path / "class.db")
    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(lambda i: label(store, i % 10, (i * 3) % 10, f"student-{i % 16}", seed=i), range(320)))
    assert len(set(ids)) == 320
    rows = store.rows()
    assert sorted(row.id for row in rows) == sorted(ids)
    assert sorted((row.digit, row.session) for row in rows) == sorted((i % 10, f"student-{i % 16}") for i in range(320))
    assert store.stats()["students"] == 16


def write_labels(path: str, writer: int, how_many: int) -> list[int]:
    store = Store(path)
    return [label(store, writer % 10, writer % 10, f"process-{writer}", seed=i) for i in range(how_many)]


@pytest.mark.slow
def test_concurrent_writers_from_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "class.db")
    # "spawn": each writer a fresh interpreter that opens the file itself, as separate app replicas would.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        acknowledged = pool.starmap(write_labels, [(path, writer, 40) for writer in range(4)])
    ids = sorted(i for ids in acknowledged for i in ids)
    assert len(set(ids)) == 160
    assert [row.id for row in Store(path).rows()] == ids
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# A writer that prints each id once `add` has returned, the moment a student would see "saved".
KILLED_WRITER = """
import sys, numpy as np
from classroom.store import Store
store = Store(sys.argv[1])
for i in range(100000):
    new = store.add(session="s", digit=i % 10, read_as=i % 10, probabilities=np.full(10, 0.1), network="cnn",
                    version="original", png=b"\\x89PNG" + bytes(2000), image28=np.full((28, 28), i % 7, np.float32))
    print(new, flush=True)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_write_loses_no_acknowledged_label(tmp_path):
    path = tmp_path / "class.db"
    Store(path)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    acknowledged = []
    for line in writer.stdout:  # kill it while it is writing, mid-stream
        acknowledged.append(int(line))
        if len(acknowledged) == 150:
            os.kill(writer.pid, signal.SIGKILL)
            break
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    acknowledged += [int(line) for line in writer.stdout.read().split()]  # printed before the kill landed
    survivor = Store(path)  # a fresh open recovers the WAL
    kept = {row.id for row in survivor.rows()}
    assert set(acknowledged) <= kept
    assert len(kept) - len(acknowledged) <= 1  # at most the one committed as the kill came
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert label(survivor) > max(kept)  # and writing goes on


# --- export ----------------------------------------------------------------------------------


def test_the_export_is_an_image_folder_and_a_csv(tmp_path):
    store = Store(tmp_path / "class.db")
    ids = [label(store, 4, 4, "a"), label(store, 7, 1, "b", seed=1), label(store, 4, 9, "b", seed=2)]
    archive = store.export_zip(tmp_path / "class.zip")
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
        assert {f"drawings/4/{ids[0]}.png", f"drawings/7/{ids[1]}.png", f"inputs28/4/{ids[2]}.png", "labels.csv"} <= names
        table = list(csv.DictReader(io.StringIO(opened.read("labels.csv").decode())))
        opened.extractall(tmp_path / "unzipped")
    assert [(int(r["id"]), int(r["digit"]), int(r["read_as"])) for r in table] == [(ids[0], 4, 4), (ids[1], 7, 1),
                                                                                    (ids[2], 4, 9)]
    assert float(table[1]["p1"]) == pytest.approx(0.91)
    drawing = np.asarray(Image.open(tmp_path / "unzipped" / table[0]["file"]))
    assert np.array_equal(drawing, drawn_four())
    input28 = np.asarray(Image.open(tmp_path / "unzipped" / table[1]["input28"]))
    assert input28.shape == (28, 28) and input28.dtype == np.uint8
    torchvision = pytest.importorskip("torchvision")
    folder = torchvision.datasets.ImageFolder(tmp_path / "unzipped" / "drawings")
    assert folder.classes == ["4", "7"] and len(folder) == 3
    assert sorted(folder.classes[target] for _, target in folder.samples) == ["4", "4", "7"]


def test_the_export_reads_back_as_mnist_style_arrays_from_the_zip_or_its_folder(tmp_path):
    store = Store(tmp_path / "class.db")
    for seed, digit in enumerate((3, 8, 3)):
        label(store, digit, digit, seed=seed)
    archive = store.export_zip(tmp_path / "class.zip")
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path / "unzipped")
    for source in (archive, tmp_path / "unzipped"):
        images, labels = read_class_set(source)
        assert images.shape == (3, 28, 28) and images.dtype == np.float32 and labels.tolist() == [3, 8, 3]
        # the stored input, to within the 8 bits of a PNG
        assert np.abs(images - np.stack([row.image28 for row in store.rows()])).max() <= 0.5 / 255 + 1e-6


def test_a_version_1_file_gains_the_numbers_table_and_keeps_its_drawings(tmp_path, monkeypatch):
    path = tmp_path / "class.db"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    kept = label(Store(path))
    monkeypatch.undo()
    migrated = Store(path)
    assert migrated.schema_version == SCHEMA_VERSION >= 2 and [row.id for row in migrated.rows()] == [kept]
    assert migrated.stats()["numbers"] == 0


def test_a_number_and_its_crops_are_kept_together(tmp_path):
    store = Store(tmp_path / "class.db")
    crops = [(d, d, np.eye(10)[d], np.full((28, 28), 0.5, np.float32)) for d in (2, 0)]
    store.add_number(session="s1", text="20", read_as="20", network="cnn", version="shipped", png=png_bytes(drawn_four()),
                     digits=crops)
    store.add_number(session="s1", text="7", read_as="1.7", network="cnn", version="shipped", png=png_bytes(drawn_four()),
                     digits=[])
    assert [(row.digit, row.read_as) for row in store.rows()] == [(2, 2), (0, 0)]
    assert store.rows()[0].image28.shape == (28, 28)
    stats = store.stats()
    assert stats["numbers"] == 2 and stats["numbers_read_exactly"] == 1 and stats["drawings"] == 2
    with pytest.raises(ValueError):  # a bad crop: nothing of the number is kept
        store.add_number(session="s1", text="3", read_as="3", network="cnn", version="shipped", png=b"",
                         digits=[("x", 3, np.eye(10)[3], np.zeros((28, 28)))])
    assert store.stats()["numbers"] == 2 and store.count() == 2
    store.reset()
    assert store.stats()["numbers"] == 0
