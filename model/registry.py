"""Every network the app, train.py, the CLI and the benches know, named once.

Adding a network is one entry here (plus its code in model/ and its weights in assets/):
argparse choices, the compare view and the benches all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.paths import ASSETS


@dataclass(frozen=True)
class Network:
    name: str  # on the command line (--arch cnn) and in teacher links (?net=cnn)
    title: str  # what the page calls it
    summary: str  # one line for a class: what kind of network it is
    engine: str  # "torch" (model/networks.py) or "numpy" (model/numpy_net.py)
    # Below this top probability it says "not sure". Measured per network with
    # `python -m bench.unsure_threshold --arch NAME`: the highest value that doubts at most
    # 5 % of the human-drawn digits it reads right. Rerun whenever its weights change.
    unsure_below: float

    @property
    def weights(self) -> Path:
        return ASSETS / f"{self.name}{'.npz' if self.engine == 'numpy' else '.pt'}"


NETWORKS: dict[str, Network] = {
    network.name: network
    for network in (
        Network("cnn", "CNN", "a small convolutional network: 5 conv layers that look at neighbouring pixels", "torch", 0.75),
        Network("mlp", "MLP", "a multilayer perceptron: every pixel wired to 512, then 256 hidden units", "torch", 0.75),
    )
}
DEFAULT = "cnn"


def network(name: str) -> Network:
    """The registry entry for `name`, or a ValueError naming the choices."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}") from None
