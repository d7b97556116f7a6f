"""Server-side time of the teaching views, for one drawing, as the app computes them.

  compare   every loaded network reads the drawing both ways (MNIST recipe, whole canvas
            squeezed), and the view's picture and bars are made. Floor: p50 <= 60 ms.
  inside    for each network: the way in (preprocessing trace), the integrated-gradients
            map of the top digit, every layer's activations, all as inline PNGs.
            Floor: p50 <= 60 ms for each network.
  inside + "why not a 7?"   the same with a second map for a picked digit (no floor; shown).

Drawings are human pen strokes from model/examples.py, drawn on the app's canvas at sizes and
places people pick. The callbacks are timed as app.py calls them (app.compare.show and
app.inside.show), after a warm-up; the bars of the Draw view are not part of these times.

    python -m bench.views                 # every view, 50 drawings each
    python -m bench.views --runs 200
"""

from __future__ import annotations

import argparse
import os
import time

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks;
# app before numpy: app sets numpy's BLAS threads, read when numpy is first imported
from bench.browser import CHROMIUM  # isort: skip
import app  # isort: skip
import numpy as np
from model.examples import STROKES
from model.canvas import draw_like_a_person, sketchpad_value

FLOOR_MS = 60


def drawings(count: int, seed: int = 0) -> list[np.ndarray]:
    """What the Draw view keeps for the teaching views (the pad's composite), for `count` drawings."""
    rng = np.random.default_rng(seed)
    digits = sorted(STROKES)
    return [sketchpad_value(draw_like_a_person(STROKES[digits[i % len(digits)]], rng))["composite"] for i in range(count)]


def timed(call, pictures) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU milliseconds (all of this process's threads) per call."""
    call(pictures[0])  # warm-up: first-call allocations, lazy imports
    wall, cpu = [], []
    for picture in pictures:
        start, start_cpu = time.perf_counter(), time.process_time()
        call(picture)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return np.asarray(wall), np.asarray(cpu)


def report(name: str, times: tuple[np.ndarray, np.ndarray], floor: bool = True) -> None:
    """The floor is on wall-clock time. CPU time is shown beside it because it hardly depends on
    what else the machine runs: on a busy machine, wall time there is no measure of the code."""
    wall, cpu = times
    p50 = float(np.median(wall))
    verdict = f"  floor p50 <= {FLOOR_MS} ms: {'PASS' if p50 <= FLOOR_MS else 'FAIL'}" if floor else ""
    print(f"  {name:<30} wall p50 {p50:6.1f} ms  p95 {np.percentile(wall, 95):6.1f} ms   "
          f"CPU p50 {np.median(cpu):6.1f} ms{verdict}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50, help="drawings to time per view (default: 50)")
    args = parser.parse_args(argv)
    assert CHROMIUM  # imported for its side effect only

    pictures = drawings(args.runs)
    print(f"server-side time of the teaching views, {args.runs} drawn digits, networks: {', '.join(app.classifiers)}")
    print(f"  (load average over the last minute: {os.getloadavg()[0]:.1f}; the floors assume a quiet 2-core machine)")
    for way in ("mnist", "naive"):
        report(f"compare ({way})", timed(lambda picture: app.compare.show(picture, way), pictures))
    for name in app.classifiers:
        report(f"inside, {name}", timed(lambda picture: app.inside.show(picture, name, None), pictures))
        report(f"inside, {name}, why not a 7", timed(lambda picture: app.inside.show(picture, name, "7"), pictures),
               floor=False)


if __name__ == "__main__":
    main()
