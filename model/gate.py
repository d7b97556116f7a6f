"""The gate: a small network that answers one question, "is this a digit at all?".

A digit classifier has only digits to choose from, so noise, a checkerboard or a letter still
gets one of them, often with high probability: a top-probability threshold alone cannot tell
"unsure which digit" from "no digit". The gate is trained for exactly that second question
(`python -m training.gate`: MNIST digits against the generated non-digits of nondigits.py) and
looks at the same 28x28 input as every network, so one gate serves them all.

    >>> gate = load_gate()                        # assets/gate.pt, or None
    >>> gate.digit_probability(images28)          # N floats in [0, 1]
    >>> gate.digit_probability(images28) < gate.threshold   # "not a digit"

Its file is a weights file like every network's (model/weights.py, arch "gate", with the
threshold in its metadata), saved and checked by the same code. A missing or bad gate file is
not an error: the app logs why and falls back to the top-probability threshold alone.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch
from torch import nn

from model.fusion import for_reading
from model.paths import ASSETS
from model.preprocess import normalize
from model.weights import GATE, WeightsError, load_weights

DEFAULT_GATE = ASSETS / "gate.pt"
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
        # Read through a copy with its BatchNorms fused and laid out channels_last, as the digit
        # CNN (model/classifier.py): laid out the other way, a convolution of 12 channels misses
        # oneDNN's fast kernels and the gate cost more than the whole rest of a reading
        # (python -m bench.inference).
        self.network = network.eval()
        self._reader = for_reading(self.network)
        self.metadata = metadata
        self.mean, self.std = float(metadata["mean"]), float(metadata["std"])
        self.threshold = float(metadata["threshold"])

    def digit_probability(self, images28: np.ndarray) -> np.ndarray:
        """P(digit) for a batch of preprocessed N x 28 x 28 images in [0, 1] (ink = 1)."""
        images28 = np.asarray(images28, dtype=np.float32).reshape(-1, 28, 28)
        batch = torch.from_numpy(normalize(images28, self.mean, self.std)).unsqueeze(1)
        with torch.inference_mode():
            return torch.sigmoid(self._reader(batch)).numpy().astype(np.float64)


def read_gate(path: str | os.PathLike) -> Gate:
    """The gate in `path`, through model/weights.py's checks; WeightsError (never a path) says what is wrong."""
    return Gate(*load_weights(path, GATE))


def load_gate(path: str | os.PathLike | None = None) -> Gate | None:
    """The gate from `path` (default assets/gate.pt), or None when it cannot be used.

    None means "no gate": callers then decide "not sure" by the top probability alone. The
    reason is logged once as a warning, so a broken file never stops the app from serving.
    """
    try:
        return read_gate(DEFAULT_GATE if path is None else path)
    except WeightsError as error:
        log.warning("No digit gate, so 'not sure' uses the top probability alone: %s", error)
        return None
