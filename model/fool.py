"""Fooling a network: a small change of the 28x28 input that makes it read a digit you pick.

    fooled = fool(classifier, image28, target=3)
    fooled.reads_target, fooled.top(3), fooled.changed_pixels, fooled.l2, fooled.change, fooled.picture

A targeted attack by gradient steps, projected as in PGD (Madry et al., 2018): the input's
gradient of the loss "it is a 3" (cross-entropy with the target) says which way each pixel
should move; every step moves the picture a fixed distance (L2) that way and puts it back into
what a picture can be. It stops as soon as the network gives the target CONFIDENCE or more;
the change is then scaled back to the smallest fraction of it that still does, since the last
step overshoots.

What a test can check (tests/test_fool.py), and why each holds:
  - every picture the attack makes lies in [0, 1] and on 8-bit levels (k / 255), as a saved
    PNG would: each step ends by clipping to [0, 1] and rounding to a level, so the last
    picture is one too;
  - `reads_target` is the network's own reading of that very picture (Classifier.probabilities,
    the path every reading takes), not of an iterate on the way.
The input's gradient comes from autograd for the torch networks, and for the numpy net from its
own backward pass (model/numpy_net.py: dx = da W1^T), so every registry network can be fooled.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from model.classifier import Classifier
from model.numpy_net import cross_entropy
from model.preprocess import normalize

CONFIDENCE = 0.6  # the attack stops once the target gets this probability: it then wins by a margin
STEP = 0.5  # L2 length of one step, in [0, 1] pixel units (a drawn digit itself measures about 10)
MAX_STEPS = 100  # a bound on the time: for the CNN a step is one forward and one backward pass
LEVELS = 255  # pictures stay on 8-bit levels
SHRINK = np.linspace(0.1, 0.95, 18, dtype=np.float32)  # fractions of the change tried once it fools


@dataclass(frozen=True)
class Fooled:
    """What the attack made of one 28x28 input: the picture, and how the network reads it."""

    original: np.ndarray  # 28 x 28 in [0, 1], on 8-bit levels: the input the attack started from
    picture: np.ndarray  # the changed input, the same kind of picture
    target: int
    probabilities: np.ndarray  # the network's reading of `picture`
    steps: int

    @property
    def reads_target(self) -> bool:
        return int(np.argmax(self.probabilities)) == self.target

    @property
    def change(self) -> np.ndarray:
        """picture - original: signed, per pixel."""
        return self.picture - self.original

    @property
    def changed_pixels(self) -> int:
        """Pixels that differ by at least one 8-bit level."""
        return int(np.count_nonzero(np.abs(self.change) > 0.5 / LEVELS))

    @property
    def l2(self) -> float:
        """The size of the change: its Euclidean length, in [0, 1] pixel units."""
        return float(np.linalg.norm(self.change))

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(d), float(self.probabilities[d])) for d in order]


def on_levels(image28: np.ndarray) -> np.ndarray:
    """`image28` clipped to [0, 1] and rounded to the nearest 8-bit level."""
    return np.round(np.clip(image28, 0, 1) * LEVELS).astype(np.float32) / LEVELS


def fool(classifier: Classifier, image28: np.ndarray, target: int, confidence: float = CONFIDENCE,
         step: float = STEP, max_steps: int = MAX_STEPS) -> Fooled:
    """Change `image28` (a 28x28 input in [0, 1], model.preprocess.to_mnist's output) until the
    network reads `target` with `confidence`, or `max_steps` steps have been taken."""
    if not 0 <= target <= 9 or int(target) != target:
        raise ValueError(f"the target must be a digit from 0 to 9, not {target!r}")
    target = int(target)
    original = on_levels(np.asarray(image28, np.float32))
    # The steps move a continuous copy, so that pushes smaller than a level add up; the picture
    # read, and whose gradient gives the next step, is that copy on levels.
    moving, picture, taken = original, original, 0
    while True:
        probabilities, gradient = target_gradient(classifier, picture, target)
        if probabilities[target] >= confidence or taken == max_steps:
            break
        # Pixels already at black or white that the step would push further cannot move: the
        # step's length goes to the others.
        gradient = np.where(((moving <= 0) & (gradient > 0)) | ((moving >= 1) & (gradient < 0)), 0, gradient)
        length = float(np.linalg.norm(gradient))
        if length == 0:  # nowhere to go
            break
        # down the loss, so the target's probability goes up; back into [0, 1]; onto the levels
        moving = np.clip(moving - step * gradient / length, 0, 1)
        picture, taken = on_levels(moving), taken + 1
    picture = scaled_back(classifier, original, picture, target, confidence)
    return Fooled(original, picture, target, classifier.probabilities(picture[None])[0], taken)


def scaled_back(classifier: Classifier, original: np.ndarray, picture: np.ndarray, target: int, confidence: float) -> np.ndarray:
    """The smallest fraction of the change (of SHRINK's) that still gives the target `confidence`:
    the last step overshoots by up to a step. `picture` itself when no smaller one does."""
    candidates = on_levels(original + SHRINK[:, None, None] * (picture - original))
    enough = np.flatnonzero(classifier.probabilities(candidates)[:, target] >= confidence)
    return candidates[enough[0]] if len(enough) else picture


def target_gradient(classifier: Classifier, image28: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """(the 10 probabilities, d loss / d pixel) for one 28x28 input, where the loss is the
    cross-entropy with `target`: -log P(target)."""
    if classifier.spec.engine == "numpy":
        network = copy.copy(classifier.network)  # shares the weights; what forward() remembers stays ours
        logits = network.forward(normalize(image28[None], classifier.mean, classifier.std).reshape(1, -1), remember=True)
        _, dz = cross_entropy(logits, np.array([target]))
        gradient = network.backward(dz, input_gradient=True)["x"]
        probabilities = np.exp(logits[0] - logits[0].max())
        # normalize() is (x - mean) / std, so each pixel's gradient is divided by std once more
        return probabilities / probabilities.sum(), gradient.reshape(28, 28) / classifier.std
    inputs = torch.from_numpy(np.ascontiguousarray(image28, np.float32))[None, None].requires_grad_()
    with torch.enable_grad():
        logits = classifier.network(normalize(inputs, classifier.mean, classifier.std))
        loss = functional.cross_entropy(logits, torch.tensor([target]))
        (gradient,) = torch.autograd.grad(loss, inputs)  # the input's only: autograd skips the weights'
    return torch.softmax(logits.detach()[0], 0).numpy(), gradient[0, 0].numpy()
