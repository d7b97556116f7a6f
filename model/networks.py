"""The torch networks, and nothing else: architectures that map a 1x28x28 image to 10 logits.

model/registry.py names them; `build(name, **kwargs)` rebuilds one from what a weights
file records (see model/weights.py).
"""

import torch
from torch import nn

from model import registry


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    # BatchNorm is what lets the CNN reach 99.7 % in a handful of CPU epochs;
    # the conv bias is redundant in front of it.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class CNN(nn.Module):
    """A small VGG-style CNN: two conv pairs at 28 and 14 px, one conv at 7 px, global pooling.

    `width` is the channel count of the first block; later blocks double it.
    Global average pooling instead of a large dense layer keeps the file small
    and makes the network less sensitive to where the strokes sit.
    """

    def __init__(self, width: int = 32, dropout: float = 0.2):
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.features = nn.Sequential(
            conv_bn_relu(1, c1),
            conv_bn_relu(c1, c1),
            nn.MaxPool2d(2),  # 28 -> 14
            conv_bn_relu(c1, c2),
            conv_bn_relu(c2, c2),
            nn.MaxPool2d(2),  # 14 -> 7
            conv_bn_relu(c2, c3),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c3, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MLP(nn.Module):
    """The baseline every MNIST tutorial starts from: 784 -> 512 -> 256 -> 10 with ReLU."""

    def __init__(self, hidden: tuple[int, ...] = (512, 256), dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        previous = 28 * 28
        for size in hidden:
            layers += [nn.Linear(previous, size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            previous = size
        layers.append(nn.Linear(previous, 10))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build(name: str, **kwargs) -> nn.Module:
    """Build the torch network the registry calls `name`, with its constructor arguments."""
    spec = registry.spec(name)  # ValueError naming the choices for an unknown name
    if spec.engine != "torch":
        raise ValueError(f"{name!r} is not a torch network")
    return spec.build(**kwargs)


def count_parameters(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
