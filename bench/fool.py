"""Server-side time of the Fool it view, and how often the trick works and transfers.

For drawings of every digit (model/examples.py's pen strokes, drawn on the app's canvas at sizes
and places people pick) and every other digit as the target, the view's callback is timed as
app.py calls it (app.fooling.show: the attack, the other networks' readings, the pictures),
after a warm-up, for each network as the one fooled. Floor: p50 <= 300 ms for the CNN.

    python -m bench.fool                 # 30 drawings x 9 targets, each network
    python -m bench.fool --drawings 10
"""

from __future__ import annotations

import argparse
import time

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks;
# app before numpy: app sets numpy's BLAS threads, read when numpy is first imported
from bench.browser import CHROMIUM  # isort: skip
import app  # isort: skip
import numpy as np

from bench.views import drawings
from model.preprocess import to_mnist
from views.fool import fool_and_transfer

FLOOR_MS = 300
assert CHROMIUM  # imported for its side effect


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawings", type=int, default=30, help="drawings, each with every other digit as target (default: 30)")
    args = parser.parse_args(argv)
    pictures = drawings(args.drawings)
    cases = [(picture, target) for picture in pictures for target in range(10)
             if target != int(app.classifiers["cnn"].probabilities(to_mnist(picture)[None])[0].argmax())]
    print(f"{len(pictures)} drawings x every other digit ({len(cases)} attacks per network), server side, "
          "after a warm-up:")
    for name, classifier in app.classifiers.items():
        app.fooling.show(pictures[0], name, "3")  # warm-up: first-call allocations, autograd's set-up
        wall, fooled, l2, changed, transferred, steps = [], [], [], [], [], []
        for picture, target in cases:
            start = time.perf_counter()
            app.fooling.show(picture, name, str(target))
            wall.append((time.perf_counter() - start) * 1000)
            result, others = fool_and_transfer(app.classifiers, name, to_mnist(picture), target)  # its figures, untimed
            fooled.append(result.reads_target)
            steps.append(result.steps)
            if result.reads_target:
                l2.append(result.l2)
                changed.append(result.changed_pixels)
                transferred.extend(int(p.argmax()) == target for p in others.values())
        p50 = float(np.median(wall))
        verdict = f"  floor p50 <= {FLOOR_MS} ms: {'PASS' if p50 <= FLOOR_MS else 'FAIL'}" if name == "cnn" else ""
        print(f"  {classifier.spec.title:<10} p50 {p50:6.1f} ms  p95 {np.percentile(wall, 95):6.1f} ms  "
              f"max {max(wall):6.1f} ms{verdict}")
        print(f"  {'':<10} fooled {sum(fooled)} of {len(fooled)} (steps: median {np.median(steps):.0f}, max {max(steps)}); "
              f"when fooled: L2 median {np.median(l2):.2f}, pixels changed median {np.median(changed):.0f} of 784; "
              f"the others read the target too in {np.mean(transferred):.0%} of their readings")


if __name__ == "__main__":
    main()
