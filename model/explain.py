"""Looking inside a network for one drawing: which pixels decided, and what each layer sees.

    integrated_gradients(classifier, image28, target)  ->  28 x 28 signed attribution map
    activations(classifier, image28)                    ->  [Layer(name, caption, maps), ...]

Both take the 28x28 input the network reads (model.preprocess.to_mnist's output) and work
for every network in model/registry.py: the torch ones through autograd, the numpy one
through its own hand-written backward pass. Nothing here changes the network, so one
loaded classifier can serve many requests at once.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from model.classifier import Classifier
from model.preprocess import normalize

# Points on the path from the blank pad to the drawing, tried in turn until the attributions
# add up to the logit difference within IG_TOLERANCE (the defining property). Spaced as
# alpha = u^2 (u evenly spaced), so they crowd near the blank end: there a network's output
# changes fastest, as faint ink switches many ReLUs at once. Most drawings need only the
# first, cheap count; a few (a digit the blank pad already half reads as) need the last.
# tests/test_explain.py checks the property; bench/views.py times it.
IG_STEPS = (32, 128)
IG_TOLERANCE = 0.05
# The path's points go through the network as this many batches at once, on as many threads:
# torch and numpy let go of the GIL while they compute, so both cores of a small server work.
IG_THREADS = 2
_pool = ThreadPoolExecutor(IG_THREADS, thread_name_prefix="integrated-gradients")


@dataclass(frozen=True)
class Layer:
    """One layer's response to the drawing: C x H x W feature maps, or a vector of units."""

    name: str
    caption: str  # one line for a class: what the layer is, its size, what brighter means
    maps: np.ndarray


# --- Why this digit: integrated gradients ------------------------------------------------------


def integrated_gradients(classifier: Classifier, image28: np.ndarray, target: int, steps: int | None = None) -> np.ndarray:
    """How much each pixel pushed the network towards `target` (positive) or away (negative).

    Integrated gradients (Sundararajan et al., 2017): the gradient of the target's logit is
    averaged along the straight path from a blank input to the drawing, and multiplied by
    the pixel's value. Its defining property is checkable: the attributions add up to
    logit(drawing) - logit(blank). The logit, not the probability: a clear digit's
    probability sits at 0.999 where its gradient vanishes, and the map would be noise.
    The integral is the midpoint rule in u with alpha = u^2 (d alpha = 2u du). Without
    `steps`, the counts of IG_STEPS are tried in turn until the property holds.
    """
    image28 = np.asarray(image28, np.float32)
    if steps is not None:
        return path_integral(classifier, image28, target, steps)
    logits = classifier.logits(np.stack([image28, np.zeros_like(image28)]))
    difference = float(logits[0, target] - logits[1, target])
    for steps in IG_STEPS:
        attributions = path_integral(classifier, image28, target, steps)
        if abs(float(attributions.sum()) - difference) <= IG_TOLERANCE * abs(difference):
            break
    return attributions


def path_integral(classifier: Classifier, image28: np.ndarray, target: int, steps: int) -> np.ndarray:
    """Integrated gradients with `steps` points, all sent through the network in IG_THREADS batches."""
    u = ((np.arange(steps, dtype=np.float32) + 0.5) / steps)[:, None, None]
    batches = np.array_split(u**2 * image28, IG_THREADS)
    gradients = np.concatenate(list(_pool.map(lambda batch: logit_gradients(classifier, batch, target), batches)))
    return image28 * (gradients * 2 * u).mean(axis=0)


def logit_gradients(classifier: Classifier, images28: np.ndarray, target: int) -> np.ndarray:
    """d logit[target] / d pixel for a batch of N x 28 x 28 inputs in [0, 1] (before normalising)."""
    if classifier.spec.engine == "numpy":
        net = copy.copy(classifier.network)  # shares the weights; what forward() remembers stays ours
        net.forward(normalize(images28, classifier.mean, classifier.std).reshape(len(images28), -1), remember=True)
        picked = np.zeros((len(images28), 10), np.float32)
        picked[:, target] = 1.0
        gradients = net.backward(picked, input_gradient=True)["x"]
        # normalize() is (x - mean) / std, so each pixel's gradient is divided by std once more
        return gradients.reshape(images28.shape) / classifier.std
    inputs = torch.from_numpy(np.ascontiguousarray(images28, np.float32)).unsqueeze(1).requires_grad_()
    with torch.enable_grad():
        logits = classifier.network(normalize(inputs, classifier.mean, classifier.std))
        # asking for the input's gradient only: autograd skips the weights' gradients
        (gradients,) = torch.autograd.grad(logits[:, target].sum(), inputs)
    return gradients[:, 0].numpy()


# --- What the layers see -----------------------------------------------------------------------


def activations(classifier: Classifier, image28: np.ndarray) -> list[Layer]:
    """Every layer's output for one 28x28 input, first to last, ending with the 10 probabilities."""
    image28 = np.asarray(image28, np.float32)[None]
    inputs = normalize(image28, classifier.mean, classifier.std)
    if classifier.spec.engine == "numpy":
        net = copy.copy(classifier.network)
        logits = net.forward(inputs.reshape(1, -1), remember=True)
        hidden = net.remembered[1][0]
        layers = [Layer("Hidden layer", hidden_caption(1, len(hidden), 28 * 28), hidden)]
    else:
        layers, logits = torch_layers(classifier.network, torch.from_numpy(inputs).unsqueeze(1))
    probabilities = np.exp(logits[0] - logits[0].max())
    probabilities /= probabilities.sum()
    return [*layers, Layer("Output", "Output: one unit per digit 0–9, the probabilities; brighter = more likely.",
                           probabilities.astype(np.float32))]


def torch_layers(network: nn.Module, x: torch.Tensor) -> tuple[list[Layer], np.ndarray]:
    """Run the network's parts one by one, keeping each convolution block's and hidden layer's output.

    Walking the parts (model/networks.py builds every network as Sequentials run in order)
    instead of registering forward hooks: hooks live on the shared module and would see the
    tensors of every request running at the same time.
    """
    layers: list[Layer] = []
    before = x.shape[1:]  # what the next layer reads: (channels, height, width) or (units,)
    with torch.inference_mode():
        for part in stages(network):
            x = part(x)
            index = len(layers) + 1
            if is_conv_block(part):
                maps = x[0].float().numpy()
                layers.append(Layer(f"Convolution block {index}",
                                    conv_caption(index, maps.shape, part[0].kernel_size[0], tuple(before)), maps))
            elif isinstance(part, nn.ReLU) and x.dim() == 2:
                units = x[0].float().numpy()
                layers.append(Layer(f"Hidden layer {index}", hidden_caption(index, len(units), int(np.prod(before))), units))
            if is_conv_block(part) or isinstance(part, nn.ReLU):
                before = x.shape[1:]
    return layers, x.float().numpy()


def stages(network: nn.Module) -> list[nn.Module]:
    """The network's parts in the order its forward() runs them (the children of its Sequentials)."""
    parts: list[nn.Module] = []
    for child in network.children():
        parts.extend(child.children() if isinstance(child, nn.Sequential) and not is_conv_block(child) else [child])
    return parts


def is_conv_block(module: nn.Module) -> bool:
    return isinstance(module, nn.Sequential) and len(module) > 0 and isinstance(module[0], nn.Conv2d)


def conv_caption(index: int, shape: tuple, kernel: int, before: tuple) -> str:
    filters, size = shape[0], shape[-1]
    if len(before) == 3 and before[0] == 1:
        source = f"the {size}×{size} picture"
    else:
        source = f"the {before[0]} maps of the block before" + (
            f", halved to {size}×{size} by pooling" if before[-1] != size else f" ({size}×{size})")
    return (f"Convolution block {index}: {filters} filters, each a {kernel}×{kernel} pattern looked for all over {source}. "
            "One square per filter; brighter = its pattern is there, black = nowhere.")


def hidden_caption(index: int, units: int, inputs: int) -> str:
    source = "all 784 pixels" if inputs == 28 * 28 else f"all {inputs} units of the layer before"
    return (f"Hidden layer {index}: {units} units, each a weighted sum of {source}. "
            "One square per unit; brighter = more active, black = silent (ReLU).")
