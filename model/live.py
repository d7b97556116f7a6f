"""The live network: the one CNN every user of the app reads with, swappable without a restart.

    >>> from model import live
    >>> network = live.current()         # read ONCE per request, then use that object throughout
    >>> network.classifier.predict(image), network.version
    >>> live.revert()                     # back to the shipped assets/cnn.pt, for everyone

Readers take no lock: `current()` returns one immutable LiveNetwork, built completely before
it is published by a single reference assignment, so a reader sees the old network or the new
one, never half of one. Changes (a fine-tuned network swapped in, a revert) take a lock, so two
never interleave, and each is saved before it is published:

    <folder>/cnn-class-<UTC time>.pt   the fine-tuned weights (model/weights.py: atomic, weights_only)
    <folder>/live.json                 which network is live, written atomically

so that after a restart the app serves whichever network was live. The folder is the data
folder (git-ignored); the shipped weights in assets/ are only ever read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from model.classifier import Classifier, load_classifier
from model.gate import load_gate
from model.paths import ASSETS, DATA
from model.registry import DEFAULT, spec
from model.weights import WeightsError, save_weights, write_atomically

POINTER = "live.json"
SHIPPED = "shipped"  # the version name of the network in assets/
KEEP = 5  # fine-tuned weight files kept in the folder (the live one always among them)

log = logging.getLogger(__name__)


class LiveBusy(RuntimeError):
    """Another change of the live network (a fine-tune or a revert) is still running."""


@dataclass(frozen=True)
class LiveNetwork:
    classifier: Classifier
    name: str  # the registry name, "cnn"
    version: str  # "shipped", or "class-<UTC time>" for a fine-tuned one
    path: Path  # the weights file it was loaded from or saved to
    metadata: dict = field(repr=False)


def default_folder() -> Path:
    """DIGIT_LIVE_DIR when set (tests, a Space's persistent /data), else data/class/."""
    return Path(os.environ.get("DIGIT_LIVE_DIR") or DATA / "class")


class Live:
    """Holds the live network, persisted in `folder`; `shipped` is the weights file to revert to."""

    def __init__(self, folder: str | os.PathLike | None = None, shipped: str | os.PathLike | None = None,
                 name: str = DEFAULT, gate=None):
        self.gate = gate  # model.gate's digit gate, kept across swaps (see model/classifier.py)
        self.folder = Path(folder) if folder is not None else default_folder()
        self.name = name
        self.shipped = Path(shipped) if shipped is not None else spec(name).weights
        if _inside(self.folder, ASSETS):
            raise ValueError(f"the live network's folder {self.folder} is inside {ASSETS}: shipped files are never overwritten")
        # RLock: teach() holds it for a whole fine-tune and calls swap(), which takes it again.
        self._change = threading.RLock()
        self._current = self._restore()

    def current(self) -> LiveNetwork:
        return self._current  # one reference read: atomic, and the object never changes

    @contextlib.contextmanager
    def changing(self):
        """Hold the right to change the live network; LiveBusy at once if someone else holds it."""
        if not self._change.acquire(blocking=False):
            raise LiveBusy("The network is already being changed (a fine-tune or a revert is running); try again when it has finished.")
        try:
            yield
        finally:
            self._change.release()

    def swap(self, network: nn.Module, metadata: dict) -> LiveNetwork:
        """Save `network` in the data folder, then make it the live network for everyone."""
        with self.changing():
            version = f"class-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
            path = self.folder / f"{self.name}-{version}.pt"
            if path.exists():  # two fine-tunes within a second: keep both files
                version = f"{version}-{time.monotonic_ns() % 10**6:06d}"
                path = self.folder / f"{self.name}-{version}.pt"
            metadata = {**metadata, "version": version}
            save_weights(path, network, metadata)
            # Reload what was written: the live network is exactly the file a restart would load.
            live = self._load(path, version)
            self._point_to(path.name, version)
            self._current = live
            self._prune()
            return live

    def revert(self) -> LiveNetwork:
        """Make the shipped network live again for everyone (the fine-tuned files stay on disk)."""
        with self.changing():
            live = self._load(self.shipped, SHIPPED)
            self._point_to(None, SHIPPED)
            self._current = live
            return live

    # --- persistence ------------------------------------------------------------------------

    def _load(self, path: Path, version: str) -> LiveNetwork:
        classifier = load_classifier(path, gate=self.gate)
        return LiveNetwork(classifier, self.name, version, path, classifier.metadata)

    def _point_to(self, filename: str | None, version: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        pointer = json.dumps({"weights": filename, "version": version}).encode()
        write_atomically(self.folder / POINTER, lambda file: file.write(pointer))

    def _restore(self) -> LiveNetwork:
        """The network the pointer names; the shipped one when there is none or it cannot be read.

        A damaged pointer or weights file must not keep the app from starting in front of a
        class: it logs a warning and serves the shipped network.
        """
        pointer = self.folder / POINTER
        if pointer.is_file():
            try:
                chosen = json.loads(pointer.read_text())
                filename, version = chosen["weights"], str(chosen["version"])
                if filename is not None:
                    path = self.folder / Path(filename).name  # only ever a file in this folder
                    return self._load(path, version)
            except (OSError, ValueError, KeyError, TypeError, WeightsError) as error:
                log.warning("Cannot restore the live network from %s (%s); serving the shipped one", pointer, error)
        return self._load(self.shipped, SHIPPED)

    def _prune(self) -> None:
        """Delete all but the KEEP newest fine-tuned files (never the live one) so the disk stays bounded."""
        files = sorted(self.folder.glob(f"{self.name}-class-*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP:]:
            if old != self._current.path:
                old.unlink(missing_ok=True)


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


# --- The app's one holder, made on first use ---------------------------------------------------

_default: Live | None = None
_default_lock = threading.Lock()


def default() -> Live:
    global _default
    with _default_lock:
        if _default is None:
            _default = Live(gate=load_gate())
        return _default


def current() -> LiveNetwork:
    return default().current()


def classifier() -> Classifier:
    return default().current().classifier


def swap(network: nn.Module, metadata: dict) -> LiveNetwork:
    return default().swap(network, metadata)


def revert() -> LiveNetwork:
    return default().revert()
