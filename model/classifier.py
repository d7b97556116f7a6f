"""Loading a trained network and reading digits with it: picture in, probabilities out.

    >>> from model import load_classifier
    >>> classifier = load_classifier()          # assets/cnn.pt
    >>> prediction = classifier.predict(image)  # Sketchpad value, PIL image or numpy array
    >>> prediction.blank, prediction.top(3), prediction.image.shape
    (False, [(7, 0.98), (1, 0.01), (2, 0.004)], (28, 28))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from model.preprocess import normalize, to_mnist
from model.weights import DEFAULT_WEIGHTS, load_weights


@dataclass(frozen=True)
class Prediction:
    """What the network made of one picture.

    `probabilities` holds P(digit) for 0-9 and `image` the 28x28 input in [0, 1] (ink = 1)
    the network saw; both are None when the picture was blank, so there is no guess at all.
    """

    probabilities: np.ndarray | None
    image: np.ndarray | None

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


BLANK = Prediction(probabilities=None, image=None)


class Classifier:
    """A network in eval mode plus the preprocessing and normalisation it was trained with.

    Safe to share between threads: prediction reads the weights and changes no state.
    """

    def __init__(self, network: torch.nn.Module, metadata: dict):
        # channels_last lets oneDNN pick its fast convolutions: the model alone at batch 1 went
        # from 0.8-1.4 ms to about 0.6 ms p50 (`python -m bench.inference`). A 1-channel input is
        # already laid out that way, so the inputs need no conversion.
        self.network = network.eval().to(memory_format=torch.channels_last)
        self.metadata = metadata
        self.mean = float(metadata["mean"])
        self.std = float(metadata["std"])

    def predict(self, image) -> Prediction:
        """Read one picture: a Sketchpad value, a PIL image, a numpy array or a file path."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Iterable) -> list[Prediction]:
        """Read many pictures in one forward pass; blank ones come back as BLANK."""
        inputs = [to_mnist(image) for image in images]
        drawn = [i for i, image28 in enumerate(inputs) if image28 is not None]
        results = [BLANK] * len(inputs)
        if drawn:
            probabilities = self.probabilities(np.stack([inputs[i] for i in drawn]))
            for row, i in enumerate(drawn):
                results[i] = Prediction(probabilities=probabilities[row], image=inputs[i])
        return results

    def probabilities(self, images28: np.ndarray) -> np.ndarray:
        """Softmax output for a batch of already preprocessed N x 28 x 28 images in [0, 1]."""
        batch = torch.from_numpy(normalize(images28, self.mean, self.std)).unsqueeze(1)
        with torch.inference_mode():
            return torch.softmax(self.network(batch), dim=1).numpy()


def load_classifier(path: str | os.PathLike | None = None, arch: str = "cnn") -> Classifier:
    """Load a classifier from a weights file; by default the shipped assets/<arch>.pt.

    Raises model.weights.WeightsError, naming the train.py command that makes a good file,
    when the file is missing, corrupt or does not fit its network.
    """
    network, metadata = load_weights(path if path is not None else DEFAULT_WEIGHTS[arch])
    return Classifier(network, metadata)
