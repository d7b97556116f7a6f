"""A class of 40 labelling at once, through the API of a real server process; then kill -9 it.

    python -m bench.class_labels                      # 40 students, 60 s, one label each ~2 s
    python -m bench.class_labels --students 10 --seconds 10   # a quick look

Phase 1: every simulated student has their own gradio_client session and sends /label(image,
digit) about every 2 s (jittered, as people are): counts errors, and the time from sending
to the answer {"saved": true}. Then every acknowledged id is looked up in the database.
Phase 2: the same load, and the server is killed with SIGKILL in the middle of it; a new
server is started on the same database and every label acknowledged before the kill must
be there.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from bench.browser import free_port, wait_until_serving
from classroom.store import Store
from model.examples import STROKES
from model.canvas import draw_like_a_person
from model.paths import ROOT


def start_server(database: Path, port: int, log) -> subprocess.Popen:
    environment = {**os.environ, "DIGIT_CLASS_DB": str(database), "GRADIO_SERVER_PORT": str(port),
                   "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=log, stderr=log)
    try:
        wait_until_serving(server, f"http://127.0.0.1:{port}/")
    except RuntimeError as error:
        raise RuntimeError(f"{error}; see {log.name}") from None
    return server


def drawings(how_many: int, folder: Path, seed: int) -> list[tuple[str, int]]:
    """PNG files of digits drawn on the app's canvas at the sizes and places people pick."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(how_many):
        digit = i % 10
        path = folder / f"{i}-{digit}.png"
        Image.fromarray(draw_like_a_person(STROKES[digit], rng)).save(path)
        made.append((str(path), digit))
    return made


class Student(threading.Thread):
    """Labels a drawing about every `every` seconds until `stop`; keeps what was acknowledged."""

    def __init__(self, url: str, pictures, every: float, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.url, self.pictures, self.every, self.stop, self.rng = url, pictures, every, stop, np.random.default_rng(seed)
        self.acknowledged: list[int] = []
        self.seconds: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            client = Client(self.url, verbose=False)
        except Exception as error:  # noqa: BLE001 -- a student who cannot connect is an error to count
            self.errors.append(f"connect: {error!r}")
            return
        self.stop.wait(self.rng.uniform(0, self.every))  # students do not start in step
        while not self.stop.is_set():
            path, digit = self.pictures[self.rng.integers(len(self.pictures))]
            started = time.perf_counter()
            try:
                answer = client.predict(handle_file(path), digit, api_name="/label")
                self.seconds.append(time.perf_counter() - started)
                if answer.get("saved") is True:
                    self.acknowledged.append(answer["id"])
                else:
                    self.errors.append(f"answer: {answer!r}")
            except Exception as error:  # noqa: BLE001 -- counted, and reported below
                self.errors.append(repr(error)[:200])
            self.stop.wait(self.rng.uniform(0.5, 1.5) * self.every)


def run_class(url: str, pictures, students: int, seconds: float, every: float, during=None) -> list[Student]:
    stop = threading.Event()
    crowd = [Student(url, pictures, every, stop, seed) for seed in range(students)]
    for student in crowd:
        student.start()
    if during is not None:
        during()
    time.sleep(seconds)
    stop.set()
    for student in crowd:
        student.join(timeout=120)
    return crowd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40, help="simulated students labelling at once")
    parser.add_argument("--seconds", type=float, default=60, help="how long each phase lasts")
    parser.add_argument("--every", type=float, default=2.0, help="mean seconds between one student's labels")
    parser.add_argument("--kill-after", type=float, default=None,
                        help="seconds into phase 2 when the server gets SIGKILL (default: half of --seconds)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the drawings and the students' timing")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they come, also in a log file

    with tempfile.TemporaryDirectory(prefix="class-bench-") as folder:
        folder = Path(folder)
        database = folder / "class.sqlite3"
        pictures = drawings(50, folder, args.seed)
        log = open(folder / "server.log", "w")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = start_server(database, port, log)

        print(f"phase 1: {args.students} students for {args.seconds:.0f} s, one label every ~{args.every:g} s each")
        crowd = run_class(url, pictures, args.students, args.seconds, args.every)
        acknowledged = [i for s in crowd for i in s.acknowledged]
        errors = [e for s in crowd for e in s.errors]
        seconds = np.array([t for s in crowd for t in s.seconds])
        stored = {row.id for row in Store(database).rows()}
        print(f"  labels acknowledged: {len(acknowledged)} ({len(acknowledged) / args.seconds:.1f}/s)")
        print(f"  errors: {len(errors)}" + (f"  e.g. {errors[0]}" if errors else ""))
        print(f"  lost (acknowledged, not in the database): {len(set(acknowledged) - stored)}")
        print(f"  time to 'saved': median {np.median(seconds) * 1000:.0f} ms, p95 {np.percentile(seconds, 95) * 1000:.0f} ms, "
              f"max {seconds.max() * 1000:.0f} ms")

        kill_after = args.seconds / 2 if args.kill_after is None else args.kill_after
        print(f"phase 2: the same load, kill -9 the server after {kill_after:.0f} s, restart, count")

        def kill_later():
            def kill():
                time.sleep(kill_after)
                os.kill(server.pid, signal.SIGKILL)
            threading.Thread(target=kill, daemon=True).start()

        crowd = run_class(url, pictures, args.students, args.seconds, args.every, during=kill_later)
        server.wait()
        acknowledged2 = [i for s in crowd for i in s.acknowledged]
        refused = sum(len(s.errors) for s in crowd)
        restarted = start_server(database, port, log)
        try:
            # Counted through a fresh server on the same file, and in the file itself.
            answer = Client(url, verbose=False).predict(api_name="/class_stats")
            stored = {row.id for row in Store(database).rows()}
        finally:
            restarted.kill()
            restarted.wait()
        everything = set(acknowledged) | set(acknowledged2)
        print(f"  killed with SIGKILL: exit status {server.returncode}")
        print(f"  labels acknowledged before the kill: {len(acknowledged2)}; requests that failed while it was down: {refused}")
        print(f"  after restart the board counts {answer['drawings']} drawings; in the database: {len(stored)}")
        print(f"  acknowledged labels missing after the restart: {len(everything - stored)} of {len(everything)}")
        log.close()


if __name__ == "__main__":
    main()
