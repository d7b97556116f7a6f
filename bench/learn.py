"""The Learn view's speed floor: how fast 784 -> 100 -> 10 learns from nothing, as the app trains it.

    python -m bench.learn                  # 784 -> 100 -> 10, the view's defaults, 60 s, 3 seeds
    python -m bench.learn --hidden 10      # the project's seed-002 network

The floor: >= 90 % on the fixed 1,000 MNIST test digits within 10 s, >= 97 % within 60 s, on a
2-core machine. The loop is training.learn's, on one BLAS thread as app.py runs it (the other
core stays with the class); the seconds count the tests on the 1,000 digits, as the page's curves do.
It runs here at the usual priority: on a server it runs at the lowest (training.learn.TRAINER),
which gives it this speed wherever the class leaves a core idle, and less where it does not.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as app.py, before numpy loads

from training.learn import Run, Settings, train  # noqa: E402

FLOORS = ((0.90, 10.0), (0.97, 60.0))  # (test accuracy, within seconds)


def reached(curve, accuracy: float) -> float | None:
    """The seconds at which the curve first reached `accuracy`, or None."""
    return next((point.seconds for point in curve if point.test_accuracy >= accuracy), None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings()
    parser.add_argument("--hidden", type=int, default=defaults.hidden, help=f"hidden units (default: {defaults.hidden})")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time of each run (default: 60)")
    parser.add_argument("--seeds", type=int, default=3, help="runs, each from its own random weights (default: 3)")
    args = parser.parse_args(argv)
    settings = Settings.checked(args.hidden, args.learning_rate, args.batch_size, args.seconds)
    print(f"784 -> {settings.hidden} -> 10, learning rate {settings.learning_rate:g}, batch {settings.batch_size}, "
          f"{settings.seconds:g} s, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}:")
    verdicts = []
    for seed in range(args.seeds):
        run = Run(settings.hidden, seed=seed)
        for _ in train(run, settings):
            pass
        times = [reached(run.curve, accuracy) for accuracy, _ in FLOORS]
        verdicts.append([at is not None and at <= within for at, (_, within) in zip(times, FLOORS)])
        shown = ", ".join(f"{accuracy:.0%} at {'never' if at is None else f'{at:.1f} s'}"
                          for at, (accuracy, _) in zip(times, FLOORS))
        best = max(point.test_accuracy for point in run.curve)
        print(f"  seed {seed}: {shown}; after {run.seconds:.1f} s: {run.curve[-1].test_accuracy:.1%} (best {best:.1%}), "
              f"{run.steps} steps, {run.steps / run.seconds:.0f} steps/s")
    for index, (accuracy, within) in enumerate(FLOORS):
        passed = sum(verdict[index] for verdict in verdicts)
        print(f"  >= {accuracy:.0%} within {within:g} s: {passed} of {len(verdicts)} runs "
              f"{'PASS' if passed == len(verdicts) else 'FAIL'}")


if __name__ == "__main__":
    main()
