"""A reading-only copy of a torch network, with every BatchNorm folded into the convolution before it.

Once trained, a BatchNorm is a fixed scale and shift per channel, so it can be multiplied into
the weights of the convolution in front of it: the same answers up to float rounding, with one
pass over the activations fewer per block. It counts most in a long number, where every
candidate digit goes through the CNN and both gates (`python -m bench.numbers` times 6 digits
against 1). torch ships the arithmetic (torch.nn.utils.fusion); this only finds the pairs,
which in our networks always sit next to each other in an nn.Sequential.

The copy is for reading only. Inside, Fool it and fine-tuning keep using the original network:
they need its BatchNorms, its gradients and its layer-by-layer activations.
"""

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def for_reading(network: nn.Module) -> nn.Module:
    """An eval-mode copy of `network` with Conv2d+BatchNorm2d pairs fused, laid out channels_last.

    channels_last lets oneDNN pick its fast convolutions (`python -m bench.inference`): without
    it the fused gate was slower than the unfused one.
    """
    reading = copy.deepcopy(network).eval()
    _fuse(reading)
    return reading.to(memory_format=torch.channels_last)


def _fuse(module: nn.Module) -> None:
    for child in module.children():
        _fuse(child)
    if isinstance(module, nn.Sequential):
        for i in range(len(module) - 1):
            if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1], nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(module[i], module[i + 1])
                module[i + 1] = nn.Identity()
