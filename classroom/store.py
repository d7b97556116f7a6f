"""The class's labelled drawings, kept in SQLite: one file, no server to start.

Everything the views need goes through `Store`'s few methods, so that a course too big for
one machine can run several replicas of the app against PostgreSQL by writing a class with
the same methods; no view builds SQL.

Safe under a whole class: WAL lets readers (the board) run while a student's label is being
written, a busy timeout makes concurrent writers wait their turn instead of failing, and
synchronous=FULL makes `add` return only once the row is on disk, so a label the student was
told is saved survives the server being killed the next instant.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model.paths import DATA

DEFAULT_PATH = DATA / "class.sqlite3"
ENV_PATH = "DIGIT_CLASS_DB"
# A whole class writing at once queues behind one writer for a few milliseconds each;
# 30 s is far beyond any wait a class can cause and still answers a stuck disk with an error.
BUSY_TIMEOUT_MS = 30_000

# MIGRATIONS[n] turns a version n-1 database into version n. A schema change is one more entry
# here; opening an older file runs the missing steps in one transaction.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE drawings (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               created REAL NOT NULL,                 -- unix time
               session TEXT NOT NULL,                 -- Gradio's anonymous browser-session id
               digit INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9),     -- what the student meant
               read_as INTEGER CHECK (read_as BETWEEN 0 AND 9),           -- what the network said
               probabilities TEXT NOT NULL,           -- JSON list of 10 floats
               network TEXT NOT NULL,                 -- registry name, e.g. "cnn"
               version TEXT NOT NULL,                 -- which weights: "original" or a fine-tune's id
               png BLOB NOT NULL,                     -- the pad's composite as drawn
               image28 BLOB NOT NULL                  -- the 28x28 float32 input (ink = 1)
           )""",
        "CREATE INDEX drawings_session ON drawings (session)",
    ],
    2: [
        # A number drawn whole, with what the student typed. Its digits also joined `drawings`
        # (as `crops` rows) when the count of digits typed matched the count read.
        """CREATE TABLE numbers (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               created REAL NOT NULL,
               session TEXT NOT NULL,
               text TEXT NOT NULL,                    -- what the student meant, e.g. "3.14"
               read_as TEXT NOT NULL,                 -- what the network read
               network TEXT NOT NULL,
               version TEXT NOT NULL,
               png BLOB NOT NULL,
               crops INTEGER NOT NULL                 -- digits of it added to `drawings`
           )""",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)
COLUMNS = "id, created, session, digit, read_as, probabilities, network, version, png, image28"


@dataclass(frozen=True)
class Row:
    id: int
    created: float
    session: str
    digit: int
    read_as: int
    probabilities: list[float]
    network: str
    version: str
    png: bytes
    image28: np.ndarray  # 28x28 float32, ink = 1: the network's input when it was labelled


def _row(found: tuple) -> Row:
    """A Row from the COLUMNS of one SELECT."""
    return Row(id=found[0], created=found[1], session=found[2], digit=found[3], read_as=found[4],
               probabilities=json.loads(found[5]), network=found[6], version=found[7], png=found[8],
               image28=np.frombuffer(found[9], dtype="<f4").reshape(28, 28).astype(np.float32))


def default_path() -> Path:
    return Path(os.environ.get(ENV_PATH) or DEFAULT_PATH)


def png_bytes(image) -> bytes:
    """A drawing (uint8 array, or a PIL image) as lossless PNG bytes."""
    image = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


class Store:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
        self._migrate()

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        # One connection per call: sqlite3 connections must not be shared between threads, and
        # opening one is tens of microseconds against a label's fsync.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA synchronous=FULL")
        return contextlib.closing(db)  # sqlite3's own `with` ends a transaction but leaves it open

    def _migrate(self) -> None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # two app processes starting together migrate once
            try:
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                found = db.execute("SELECT version FROM schema_version").fetchone()
                version = found[0] if found else 0
                if version > SCHEMA_VERSION:
                    raise RuntimeError(f"{self.path} has schema version {version}, newer than this app's "
                                       f"{SCHEMA_VERSION}: update the app")
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[step]:
                        db.execute(statement)
                db.execute("DELETE FROM schema_version")
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT version FROM schema_version").fetchone()[0]

    def add(self, *, session: str, digit: int, read_as: int | None, probabilities, network: str, version: str,
            png: bytes, image28: np.ndarray) -> int:
        """Keep one labelled drawing; returns its id once it is committed to disk."""
        image28 = np.asarray(image28, dtype="<f4")
        if image28.shape != (28, 28):
            raise ValueError(f"image28 must be 28x28, not {image28.shape}")
        probabilities = [float(p) for p in probabilities]
        if len(probabilities) != 10:
            raise ValueError(f"need 10 probabilities, got {len(probabilities)}")
        with self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO drawings ({COLUMNS.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), session, int(digit), None if read_as is None else int(read_as),
                 json.dumps(probabilities), network, version, png, image28.tobytes()))
            return cursor.lastrowid  # autocommit mode: the INSERT is its own committed transaction

    def add_number(self, *, session: str, text: str, read_as: str, network: str, version: str, png: bytes,
                   digits: list[tuple[int, int, list[float], np.ndarray]]) -> int:
        """Keep one number as meant, and `digits` (meant, read as, probabilities, 28x28 each) in the
        class set, each shown by its 28x28, in one transaction: all or nothing. Returns the number's
        id once committed."""
        crops = [(int(meant), int(read), json.dumps([float(p) for p in probabilities]),
                  png_bytes((255 - np.asarray(image28) * 255).round().astype(np.uint8)), np.asarray(image28, "<f4").tobytes())
                 for meant, read, probabilities, image28 in digits]
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                number = db.execute("INSERT INTO numbers (created, session, text, read_as, network, version, png, crops) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    (now, session, text, read_as, network, version, png, len(crops))).lastrowid
                db.executemany(f"INSERT INTO drawings ({COLUMNS.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [(now, session, meant, read, probabilities, network, version, crop_png, image28)
                                for meant, read, probabilities, crop_png, image28 in crops])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return number

    def count(self, session: str | None = None) -> int:
        with self._connect() as db:
            if session is None:
                return db.execute("SELECT COUNT(*) FROM drawings").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM drawings WHERE session = ?", (session,)).fetchone()[0]

    def rows(self, ids=None) -> list[Row]:
        """Every drawing (or those with the given ids), oldest first."""
        query = f"SELECT {COLUMNS} FROM drawings"
        parameters: tuple = ()
        if ids is not None:
            ids = [int(i) for i in ids]
            query += f" WHERE id IN ({', '.join('?' * len(ids))})"
            parameters = tuple(ids)
        with self._connect() as db:
            found = db.execute(query + " ORDER BY id", parameters).fetchall()
        return [_row(r) for r in found]

    def drawings_of(self, meant: int | None = None, read: int | None = None, newest: int = 60) -> tuple[int, list[Row]]:
        """The drawings meant as `meant` and read as `read` (None: any), newest first: the board's
        click into a cell of its confusion matrix. (How many there are in all, the `newest` newest.)"""
        conditions, parameters = [], []
        for column, digit in (("digit", meant), ("read_as", read)):
            if digit is not None:
                conditions.append(f"{column} = ?")
                parameters.append(int(digit))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._connect() as db:
            db.execute("BEGIN")  # one read transaction: the count and the rows agree
            total = db.execute(f"SELECT COUNT(*) FROM drawings{where}", parameters).fetchone()[0]
            found = db.execute(f"SELECT {COLUMNS} FROM drawings{where} ORDER BY id DESC LIMIT ?",
                               (*parameters, int(newest))).fetchall()
            db.execute("COMMIT")
        return total, [_row(r) for r in found]

    def stats(self, misreads: int = 24) -> dict:
        """The board's figures: counts, accuracy overall and per digit, the confusion matrix
        (rows: meant, columns: read), and the ids of the latest `misreads` misread drawings."""
        with self._connect() as db:
            # One read transaction, so that every figure counts the same rows.
            db.execute("BEGIN")
            drawings, students, last = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT session), COALESCE(MAX(id), 0) FROM drawings").fetchone()
            pairs = db.execute("SELECT digit, read_as, COUNT(*) FROM drawings WHERE read_as IS NOT NULL "
                               "GROUP BY digit, read_as").fetchall()
            wrong = db.execute("SELECT id, digit, read_as FROM drawings WHERE read_as IS NOT NULL AND read_as != digit "
                               "ORDER BY id DESC LIMIT ?", (misreads,)).fetchall()
            numbers, exact = db.execute("SELECT COUNT(*), COALESCE(SUM(text = read_as), 0) FROM numbers").fetchone()
            db.execute("COMMIT")
        confusion = np.zeros((10, 10), dtype=int)
        for digit, read_as, n in pairs:
            confusion[digit, read_as] = n
        read = int(confusion.sum())
        per_digit = {str(d): (float(confusion[d, d] / confusion[d].sum()) if confusion[d].sum() else None)
                     for d in range(10)}
        return {
            "drawings": drawings,
            "students": students,
            "last_id": last,
            "accuracy": float(np.trace(confusion) / read) if read else None,
            "per_digit": per_digit,
            "per_digit_count": {str(d): int(confusion[d].sum()) for d in range(10)},
            "confusion": confusion.tolist(),
            "misreads": [{"id": i, "meant": d, "read": r} for i, d, r in wrong],
            "numbers": numbers,
            "numbers_read_exactly": exact,
        }

    def export_zip(self, destination: str | os.PathLike) -> Path:
        """The class set as a zip: drawings/<digit>/<id>.png (torchvision's ImageFolder reads
        the drawings/ folder), inputs28/<digit>/<id>.png (the 28x28 inputs, white ink on black
        as MNIST) and labels.csv (one row per drawing; pandas.read_csv reads it)."""
        destination = Path(destination)
        partial = destination.with_name(destination.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs do not shrink
            table = io.StringIO()
            writer = csv.writer(table)
            writer.writerow(["id", "file", "input28", "digit", "read_as", *[f"p{d}" for d in range(10)],
                             "network", "version", "created_utc", "session"])
            for row in self.rows():
                drawing = f"drawings/{row.digit}/{row.id}.png"
                input28 = f"inputs28/{row.digit}/{row.id}.png"
                archive.writestr(drawing, row.png)
                archive.writestr(input28, png_bytes((row.image28 * 255).round().astype(np.uint8)))
                writer.writerow([row.id, drawing, input28, row.digit, "" if row.read_as is None else row.read_as,
                                 *[f"{p:.6f}" for p in row.probabilities], row.network, row.version,
                                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.created)), row.session])
            archive.writestr("labels.csv", table.getvalue())
        os.replace(partial, destination)
        return destination

    def reset(self) -> int:
        """Delete every drawing and number; returns how many drawings there were."""
        with self._connect() as db:
            db.execute("DELETE FROM numbers")
            return db.execute("DELETE FROM drawings").rowcount



def read_class_set(source: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """An exported class set (the zip, or the folder it was unpacked into) as MNIST-style arrays:
    (N x 28 x 28 float32 in [0, 1], white ink on black; N int64 labels), in the order of labels.csv.
    What `train.py --extra-data` reads."""
    source = Path(source)
    if source.is_dir():
        read = lambda name: (source / name).read_bytes()  # noqa: E731 -- two readers of one shape
    else:
        archive = zipfile.ZipFile(source)
        read = archive.read
    table = list(csv.DictReader(io.StringIO(read("labels.csv").decode())))
    images = np.zeros((len(table), 28, 28), np.float32)
    for i, row in enumerate(table):
        images[i] = np.asarray(Image.open(io.BytesIO(read(row["input28"]))).convert("L"), np.float32) / 255
    return images, np.array([int(row["digit"]) for row in table], np.int64)


# The app's one store, opened on first use so that `python app.py --class-db PATH` (which sets
# DIGIT_CLASS_DB after the page is built) and tests (`use(tmp_path / ...)`) can choose the file.
_shared: Store | None = None
_shared_lock = threading.Lock()


def shared() -> Store:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Store()
        return _shared


def use(path: str | os.PathLike) -> Store:
    """Make the app keep the class in `path` from now on."""
    global _shared
    with _shared_lock:
        _shared = Store(path)
        return _shared
