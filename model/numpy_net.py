"""A two-layer neural network in plain numpy: the one to read to learn backpropagation.

    x (N x 784 pixels) --W1, b1--> a (N x H) --ReLU--> h (N x H) --W2, b2--> z (N x 10 logits)

Everything a framework does for you is written out here: the forward pass, the gradients
derived by hand with the chain rule, and the optimiser (Adam, as the torch networks use).
There is no torch in this file, so a student can follow it top to bottom knowing only numpy.
`python train.py --arch numpy` trains it on the same data and augmentation as the torch
networks, model/weights.py saves and loads it (assets/numpy.npz), and model/classifier.py
serves it with the same preprocessing.
"""

from __future__ import annotations

import math

import numpy as np

PIXELS, DIGITS = 28 * 28, 10


class TwoLayerNet:
    """784 -> `hidden` ReLU units -> 10 logits. `params` holds W1, b1, W2, b2 (float32)."""

    def __init__(self, hidden: int = 800, seed: int = 0):
        rng = np.random.default_rng(seed)
        # He initialisation: weights scaled by sqrt(2 / inputs) keep the signal's size about
        # the same through a ReLU layer, so training starts neither saturated nor silent.
        # The output layer has no ReLU after it, so sqrt(1 / inputs) does that there.
        self.params = {
            "W1": (rng.standard_normal((PIXELS, hidden)) * math.sqrt(2 / PIXELS)).astype(np.float32),
            "b1": np.zeros(hidden, np.float32),
            "W2": (rng.standard_normal((hidden, DIGITS)) * math.sqrt(1 / hidden)).astype(np.float32),
            "b2": np.zeros(DIGITS, np.float32),
        }
        # Adam's running averages of each parameter's gradient and squared gradient.
        self.moments = {name: (np.zeros_like(value), np.zeros_like(value)) for name, value in self.params.items()}
        self.steps = 0
        self.remembered = None  # what forward() keeps for backward(), only while training

    @property
    def hidden(self) -> int:
        return len(self.params["b1"])

    @staticmethod
    def shapes(hidden: int = 800) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter, without making any (model/weights.py checks files against it)."""
        return {"W1": (PIXELS, hidden), "b1": (hidden,), "W2": (hidden, DIGITS), "b2": (DIGITS,)}

    # --- Forward: from pixels to logits --------------------------------------------------------

    def forward(self, x: np.ndarray, remember: bool = False) -> np.ndarray:
        """Logits (N x 10) for a batch of normalised images flattened to N x 784.

        With remember=True the input and hidden activations are kept for backward(). Reading
        digits leaves it False, so one network can serve many threads at once.
        """
        p = self.params
        a = x @ p["W1"] + p["b1"]  # each hidden unit: a weighted sum of all 784 pixels
        h = np.maximum(a, 0)  # ReLU: keep the positive part
        z = h @ p["W2"] + p["b2"]  # each digit's score: a weighted sum of the hidden units
        if remember:
            self.remembered = (x, h)
        return z

    # --- Backward: the chain rule, by hand --------------------------------------------------------

    def backward(self, dz: np.ndarray, input_gradient: bool = False) -> dict[str, np.ndarray]:
        """Gradients of the loss for every parameter, given dz = dLoss/dlogits (N x 10).

        Going back through forward() one line at a time:
          z = h W2 + b2   ->  dW2 = h^T dz,   db2 = dz summed over the batch,   dh = dz W2^T
          h = max(a, 0)   ->  da = dh where a > 0 (that is, where h > 0), else 0
          a = x W1 + b1   ->  dW1 = x^T da,   db1 = da summed over the batch,   dx = da W1^T
        With input_gradient=True the result also holds "x", the gradient for the pixels
        themselves (what saliency maps show).
        """
        x, h = self.remembered
        p = self.params
        grads = {"W2": h.T @ dz, "b2": dz.sum(axis=0)}
        dh = dz @ p["W2"].T
        da = dh * (h > 0)
        grads["W1"] = x.T @ da
        grads["b1"] = da.sum(axis=0)
        if input_gradient:
            grads["x"] = da @ p["W1"].T
        return grads

    # --- The optimiser ------------------------------------------------------------------------

    def step(self, grads: dict[str, np.ndarray], lr: float, weight_decay: float = 0.0,
             betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        """One step of Adam with decoupled weight decay (AdamW), in place.

        Adam keeps m, a running mean of the gradient (its direction), and v, a running mean
        of its square (its typical size), and moves each weight by lr * m / sqrt(v): every
        weight takes steps of about lr, however large or small its gradients are. Both means
        start at zero, so early on they are divided by (1 - beta^t) to undo that bias.
        Weight decay shrinks the weight matrices (not the biases) a little at every step,
        which pulls weights the data does not need towards zero and generalises better.
        """
        self.steps += 1
        beta1, beta2 = betas
        for name, value in self.params.items():
            gradient, (m, v) = grads[name], self.moments[name]
            m += (1 - beta1) * (gradient - m)
            v += (1 - beta2) * (gradient * gradient - v)
            m_hat = m / (1 - beta1**self.steps)
            v_hat = v / (1 - beta2**self.steps)
            if weight_decay and name.startswith("W"):
                value *= 1 - lr * weight_decay
            value -= lr * m_hat / (np.sqrt(v_hat) + eps)


def cross_entropy(logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy over the batch, and its gradient for the logits.

    With softmax p and target distribution t (one-hot, or softened by `smoothing`),
    loss = -mean(sum(t * log p)), and its gradient simplifies to dz = (p - t) / N.
    """
    n = len(labels)
    shifted = logits - logits.max(axis=1, keepdims=True)  # same softmax, no overflow in exp
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.full_like(logits, smoothing / DIGITS)
    target[np.arange(n), labels] += 1 - smoothing
    loss = float(-(target * log_p).sum() / n)
    return loss, (np.exp(log_p) - target) / n
