"""The gate: a small network that answers one question, "is this a digit at all?".

A digit classifier has only digits to choose from, so noise, a checkerboard or a letter still
gets one of them, often with high probability: a top-probability threshold alone cannot tell
"unsure which digit" from "no digit". The gate is trained for exactly that second question
(`python -m training.gate`: MNIST digits against the generated non-digits of nondigits.py) and
looks at the same 28x28 input as every network, so one gate serves them all.

    >>> gate = load_gate()                        # assets/gate.pt, or None
    >>> gate.digit_probability(images28)          # N floats in [0, 1]
    >>> gate.digit_probability(images28) < gate.threshold   # "not a digit"

The file is written like the classifiers' weights (a plain dict, torch.save, atomic) and read
with torch.load(weights_only=True), so loading never runs code. A missing or bad gate file is
not an error: the app logs why and falls back to the top-probability threshold alone.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.paths import ASSETS
from model.preprocess import normalize
from model.weights import write_atomically

FORMAT = 1
DEFAULT_GATE = ASSETS / "gate.pt"
REQUIRED_METADATA = ("width", "mean", "std", "threshold")
log = logging.getLogger(__name__)


class GateNet(nn.Module):
    """Conv pairs at 28 and 14 px, one conv at 7 px, global pooling, one logit ("digit").

    Far smaller than the digit CNN: telling a digit from a scribble takes less than telling
    a 4 from a 9, and the gate runs on every request beside the network.
    """

    def __init__(self, width: int = 16):
        super().__init__()

        def block(i: int, o: int) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, width), *block(width, width), nn.MaxPool2d(2),  # 28 -> 14
            *block(width, 2 * width), nn.MaxPool2d(2),  # 14 -> 7
            *block(2 * width, 4 * width),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x 1 x 28 x 28 normalised images -> N logits of "this is a digit"."""
        return self.head(self.features(x)).squeeze(1)


class Gate:
    """The trained gate in eval mode, with the threshold chosen for it when it was trained.

    Safe to share between threads: it reads its weights and changes no state.
    """

    def __init__(self, network: GateNet, metadata: dict):
        # channels_last, as the digit CNN (model/classifier.py): laid out the other way, a
        # convolution of 12 channels misses oneDNN's fast kernels and the gate cost more than the
        # whole rest of a reading (python -m bench.inference).
        self.network = network.eval().to(memory_format=torch.channels_last)
        self.metadata = metadata
        self.mean, self.std = float(metadata["mean"]), float(metadata["std"])
        self.threshold = float(metadata["threshold"])

    def digit_probability(self, images28: np.ndarray) -> np.ndarray:
        """P(digit) for a batch of preprocessed N x 28 x 28 images in [0, 1] (ink = 1)."""
        images28 = np.asarray(images28, dtype=np.float32).reshape(-1, 28, 28)
        batch = torch.from_numpy(normalize(images28, self.mean, self.std)).unsqueeze(1)
        with torch.inference_mode():
            return torch.sigmoid(self.network(batch)).numpy().astype(np.float64)

    def is_digit(self, images28: np.ndarray) -> np.ndarray:
        """True where the gate lets the picture through as a digit."""
        return self.digit_probability(images28) >= self.threshold


class GateError(RuntimeError):
    """A gate file is missing, corrupt or does not fit the gate network."""


def save_gate(path: str | os.PathLike, network: GateNet, metadata: dict) -> None:
    """Write the gate's weights and metadata (threshold included) atomically."""
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"metadata lacks {missing}")
    state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    payload = {"format": FORMAT, "metadata": metadata, "state_dict": state}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda file: torch.save(payload, file))


def read_gate(path: str | os.PathLike) -> Gate:
    """Load and check a gate file; GateError (never a path) says what is wrong with it."""
    path = Path(path)
    fix = "Train one with `python -m training.gate` (see the README), or restore it with `git checkout assets/gate.pt`."
    if not path.is_file():
        raise GateError(f"there is no gate file {path.name}. {fix}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, random bytes, a pickle with code in it ...
        raise GateError(f"{path.name} is not a readable gate file ({error.__class__.__name__}). {fix}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("state_dict"), dict):
        raise GateError(f"{path.name} is not a gate file of this project (format {FORMAT}). {fix}")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict) or any(key not in metadata for key in REQUIRED_METADATA):
        raise GateError(f"{path.name} lacks the metadata {list(REQUIRED_METADATA)}. {fix}")
    try:
        width, mean, std, threshold = (metadata[k] for k in REQUIRED_METADATA)
        numbers_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (mean, std, threshold))
        if not (isinstance(width, int) and 1 <= width <= 256 and numbers_ok and std > 0 and 0 <= threshold <= 1):
            raise ValueError(f"width {width!r}, mean {mean!r}, std {std!r}, threshold {threshold!r} are out of range")
        network = GateNet(width)
        network.load_state_dict(payload["state_dict"])
        if not all(torch.isfinite(t).all() for t in network.state_dict().values() if t.is_floating_point()):
            raise ValueError("weights that are not finite numbers")
    except (ValueError, TypeError, RuntimeError) as error:
        raise GateError(f"{path.name} does not fit the gate network: {error}. {fix}") from error
    return Gate(network, metadata)


def load_gate(path: str | os.PathLike | None = None) -> Gate | None:
    """The gate from `path` (default assets/gate.pt), or None when it cannot be used.

    None means "no gate": callers then decide "not sure" by the top probability alone. The
    reason is logged once as a warning, so a broken file never stops the app from serving.
    """
    try:
        return read_gate(DEFAULT_GATE if path is None else path)
    except GateError as error:
        log.warning("No digit gate, so 'not sure' uses the top probability alone: %s", error)
        return None
