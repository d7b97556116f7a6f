"""Inference speed: preprocessing + prediction on a Sketchpad-sized canvas, and the model alone.

    python -m bench.inference            # batch 1 on 2 threads, 300 repetitions

Prints p50 and p95 in milliseconds. Medians are what to compare: the machine is noisy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from model import load_classifier
from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, draw_strokes, sketchpad_value
from model.machine import keep_freed_memory_for_reuse
from model.preprocess import to_mnist
from model.registry import DEFAULT, NETWORKS

SEVEN = [[(0, 0), (100, 0), (40, 200)], [(20, 100), (90, 100)]]  # a crossed "7", pen strokes


def percentiles(function, repeats: int) -> tuple[float, float]:
    for _ in range(10):  # warm-up: first calls allocate and pick kernels
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 95) * 1000)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default: 2)")
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per figure (default: 300)")
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"shipped model (default: {DEFAULT})")
    args = parser.parse_args(argv)
    keep_freed_memory_for_reuse()  # as app.py does: these are the figures of the app's process
    torch.set_num_threads(args.threads)
    classifier = load_classifier(arch=args.arch)

    figures = {}
    for size in (800, CANVAS_SIZE):
        # The same drawing, brush scaled with it, on an 800x800 (Gradio's default) and the app's canvas.
        value = sketchpad_value(draw_strokes(SEVEN, 0.6 * size, (0.45 * size, 0.55 * size), size, BRUSH_RADIUS * size / CANVAS_SIZE))
        assert classifier.predict(value).top(1)[0][0] == 7
        figures[f"preprocess + predict, {size}x{size} composite"] = percentiles(lambda: classifier.predict(value), args.repeats)
        figures[f"preprocess only, {size}x{size} composite"] = percentiles(lambda: to_mnist(value), args.repeats)
    batch = to_mnist(value)[None]
    figures["model alone, batch 1"] = percentiles(lambda: classifier.logits(batch), args.repeats)
    print(f"{args.arch}, {args.threads} threads, {args.repeats} calls each\n")
    print(f"{'what':<44}{'p50 ms':>9}{'p95 ms':>9}")
    for name, (p50, p95) in figures.items():
        print(f"{name:<44}{p50:>9.2f}{p95:>9.2f}")
    return figures


if __name__ == "__main__":
    main()
