"""Loading a trained network and reading digits with it: picture in, probabilities out.

    >>> from model import load_classifier
    >>> classifier = load_classifier()          # assets/cnn.pt; arch="mlp" or "numpy" for the others
    >>> prediction = classifier.predict(image)  # Sketchpad value, PIL image or numpy array
    >>> prediction.blank, prediction.unsure, prediction.top(3), prediction.image.shape
    (False, False, [(7, 0.98), (1, 0.01), (2, 0.004)], (28, 28))
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from model import registry
from model.fusion import for_reading
from model.gate import Gate, load_gate
from model.preprocess import normalize, to_mnist
from model.weights import load_weights


@dataclass(frozen=True)
class Prediction:
    """What the network made of one picture.

    `probabilities` holds P(digit) for 0-9 and `image` the 28x28 input in [0, 1] (ink = 1)
    the network saw; both are None when the picture was blank, so there is no guess at all.
    `unsure` is the page's "not sure" rule: the top probability is below the network's
    `unsure_below`, or the gate (when there is one) says this does not look like a digit.
    `digit_like` is the gate's probability that the picture is a digit; None without a gate.
    """

    probabilities: np.ndarray | None
    image: np.ndarray | None
    unsure: bool = False
    digit_like: float | None = None

    @property
    def blank(self) -> bool:
        return self.probabilities is None

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most likely digits with their probabilities, most likely first; [] when blank."""
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def confidences(self, k: int = 10) -> dict[str, float]:
        """{"7": 0.98, ...} for the top k, the shape gr.Label and JSON output want."""
        return {str(digit): p for digit, p in self.top(k)}

    def as_json(self) -> dict:
        """The answer scripts get, from the CLI's --json and from the app's API alike."""
        return {"blank": self.blank, "unsure": self.unsure,
                "top3": [{"digit": d, "probability": round(p, 6)} for d, p in self.top(3)]}


BLANK = Prediction(probabilities=None, image=None)


class Classifier:
    """A trained network plus the preprocessing and normalisation it was trained with.

    `network` is a torch module (registry engine "torch") or a model.numpy_net.TwoLayerNet
    (engine "numpy"); `spec` is its model/registry.py entry. `gate`, when given, is any object
    with `digit_probability(images28) -> N floats` and a `threshold`: below that threshold a
    reading counts as unsure whatever the network's confidence (see model/gate.py).

    Safe to share between threads: prediction reads the weights and changes no state.
    """

    def __init__(self, network, metadata: dict, spec: registry.Spec, gate=None):
        self.spec = spec
        self.metadata = metadata
        self.mean = float(metadata["mean"])
        self.std = float(metadata["std"])
        self.gate = gate
        if spec.engine == "torch":
            # channels_last lets oneDNN pick its fast convolutions (`python -m bench.inference`
            # compares). A 1-channel input is already laid out that way, so inputs need no conversion.
            network = network.eval().to(memory_format=torch.channels_last)
        # `network` is what Inside, Fool it and fine-tuning look into; readings go through a
        # copy with its BatchNorms fused (model/fusion.py), made now: a Classifier is built anew
        # for new weights, never changed in place.
        self.network = network
        self._reader = for_reading(network) if spec.engine == "torch" else network

    def predict(self, image) -> Prediction:
        """Read one picture: a Sketchpad value, a PIL image, a numpy array or a file path."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable) -> list[Prediction]:
        """Read many pictures in one forward pass; blank ones come back as BLANK."""
        inputs = [to_mnist(image) for image in images]
        drawn = [i for i, image28 in enumerate(inputs) if image28 is not None]
        results = [BLANK] * len(inputs)
        if not drawn:
            return results
        batch = np.stack([inputs[i] for i in drawn])
        probabilities = self.probabilities(batch)
        unsure = probabilities.max(axis=1) < self.spec.unsure_below
        digit_like: list[float | None] = [None] * len(drawn)
        if self.gate is not None:
            digit_like = [float(p) for p in self.gate.digit_probability(batch)]
            unsure |= np.array(digit_like) < self.gate.threshold
        for row, i in enumerate(drawn):
            results[i] = Prediction(probabilities=probabilities[row], image=inputs[i],
                                    unsure=bool(unsure[row]), digit_like=digit_like[row])
        return results

    def logits(self, images28: np.ndarray) -> np.ndarray:
        """The network's raw N x 10 output for already preprocessed N x 28 x 28 images in [0, 1]."""
        inputs = normalize(images28, self.mean, self.std)
        if self.spec.engine == "numpy":
            return self._reader.forward(inputs.reshape(len(inputs), -1))
        with torch.inference_mode():
            return self._reader(torch.from_numpy(inputs).unsqueeze(1)).float().numpy()

    def probabilities(self, images28: np.ndarray) -> np.ndarray:
        """Softmax output (N x 10) for already preprocessed N x 28 x 28 images in [0, 1]."""
        logits = self.logits(images28)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


@functools.cache
def shipped_gate() -> Gate | None:
    """assets/gate.pt, read once and shared by every network; None (logged) when missing or bad."""
    return load_gate()


def load_classifier(path: str | os.PathLike | None = None, arch: str = registry.DEFAULT, gate: Gate | str | None = "shipped") -> Classifier:
    """Load a classifier from a weights file; by default the shipped one of `arch` in assets/.

    `gate` is the "is this a digit at all?" gate of model/gate.py: by default the shipped one
    (without a usable assets/gate.pt, the top probability alone decides "not sure"); None for
    no gate, or any Gate.

    A file given by `path` names its own network in its metadata, so `arch` is then ignored.
    Raises model.weights.WeightsError, naming the train.py command that makes a good file,
    when the file is missing, corrupt or does not fit its network.
    """
    path = registry.spec(arch).weights if path is None else Path(path)
    network, metadata = load_weights(path)
    if gate == "shipped":
        gate = shipped_gate()
    return Classifier(network, metadata, registry.spec(metadata["arch"]), gate=gate)
