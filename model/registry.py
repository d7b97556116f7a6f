"""Every network the app, train.py, the CLI and the benches know, named once.

Adding a network is one entry here (plus its code in model/ and its weights in assets/):
argparse choices, the compare view and the benches all read this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from model.paths import ASSETS


@dataclass(frozen=True)
class Spec:
    name: str  # on the command line (--arch cnn) and in teacher links (?net=cnn)
    title: str  # what the page calls it
    summary: str  # one line for a class: what kind of network it is
    engine: str  # "torch" (model/networks.py) or "numpy" (model/numpy_net.py)
    # Below this top probability it says "not sure". Measured per network with
    # `python -m bench.unsure_threshold --arch NAME`: the value it recommends, the highest that,
    # with the gate, doubts at most 4 % of the human-drawn digits the network reads right
    # (the floor is 5 %). Rerun whenever its weights or assets/gate.pt change.
    unsure_below: float
    code: str  # "module.Class" that builds it; imported only when asked, so the registry stays light
    # train.py flags that become the constructor's keyword arguments (and the weight file's arch_kwargs).
    options: tuple[str, ...] = ()

    @property
    def weights(self) -> Path:
        return ASSETS / f"{self.name}{'.npz' if self.engine == 'numpy' else '.pt'}"

    def build(self, **kwargs):
        """A fresh, untrained instance of this network."""
        module, _, name = self.code.rpartition(".")
        return getattr(importlib.import_module(module), name)(**kwargs)


NETWORKS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("cnn", "CNN", "a small convolutional network: 5 conv layers that look at neighbouring pixels", "torch", 0.85,
                "model.networks.CNN", options=("width",)),
        Spec("mlp", "MLP", "a multilayer perceptron: every pixel wired to 512, then 256 hidden units", "torch", 0.75,
                "model.networks.MLP"),
        Spec("numpy", "numpy net", "two layers written from scratch in numpy: every pixel wired to 800 hidden units",
                "numpy", 0.75, "model.numpy_net.TwoLayerNet", options=("hidden",)),
    )
}
DEFAULT = "cnn"


def spec(name: str) -> Spec:
    """The registry entry for `name`, or a ValueError naming the choices."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}") from None
