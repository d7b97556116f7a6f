"""Training time and test accuracy of the --quick preset and of the full recipe, on this machine.

    python -m bench.training --data-dir ../shared/data/mnist          # both (about 10 minutes)
    python -m bench.training --data-dir ../shared/data/mnist --quick-only
    python -m bench.training --data-dir ../shared/data/mnist --arch numpy   # any name in model/registry.py

Each run is a real `python train.py ...` in a subprocess, writing to a temporary folder, so
the shipped assets are never touched. Wall time includes loading MNIST and the final test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from model.paths import ROOT
from model.registry import DEFAULT, NETWORKS


def run(arch: str, flags: list[str], data_dir: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "train.py", "--arch", arch, *flags, "--data-dir", data_dir, "--out", out, "--no-plots"]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        return seconds, json.loads((Path(out) / f"{arch}_metrics.json").read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data", help="MNIST folder, as for train.py (default: data)")
    parser.add_argument("--arch", default=DEFAULT, choices=list(NETWORKS), help=f"network to train (default: {DEFAULT})")
    parser.add_argument("--quick-only", action="store_true", help="skip the full recipe")
    args = parser.parse_args(argv)
    recipes = {"--quick": ["--quick"]} if args.quick_only else {"--quick": ["--quick"], "full recipe": []}
    print(f"{args.arch}\n{'recipe':<14}{'wall s':>8}{'train s':>9}{'test acc':>10}")
    for name, flags in recipes.items():
        seconds, metrics = run(args.arch, flags, args.data_dir)
        print(f"{name:<14}{seconds:>8.0f}{metrics['training_seconds']:>9.0f}{metrics['test_accuracy']:>10.2%}", flush=True)


if __name__ == "__main__":
    main()
