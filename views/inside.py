"""The Inside view: for the current drawing, the way in, why this digit, and what the layers see.

    the way in            model.preprocess.trace: each step of the MNIST recipe as a small picture
    why this digit        model.explain.integrated_gradients, for the top digit and a digit you pick
    what the layers see   model.explain.activations, one picture and one plain caption per layer
"""

from __future__ import annotations

import html

import gradio as gr
import numpy as np

from model import Classifier
from model.explain import activations, integrated_gradients
from model.preprocess import trace
from views.pictures import enlarge, img, ink, signed, tiles, units

STEP_WIDTH = 112  # each step of the way in, in CSS px
MAP_WIDTH = 196  # a saliency map: 28 x 7


def figure(picture: str, caption: str) -> str:
    return (f'<figure style="display: inline-block; margin: 0 8px 8px 0; vertical-align: top; max-width: 100%">{picture}'
            f'<figcaption style="font-size: 0.85em; max-width: 32em">{html.escape(caption)}</figcaption></figure>')


def way_in_html(steps: list[tuple[str, np.ndarray]]) -> str:
    # each fitted into the same STEP_WIDTH square, so that a tall crop does not tower over the rest
    return "".join(figure(img(ink(picture), name, round(STEP_WIDTH * min(1, picture.shape[1] / picture.shape[0])), "step"),
                          f"{number}. {name}") for number, (name, picture) in enumerate(steps, 1))


def why_html(classifier: Classifier, image28: np.ndarray, digits: list[int], probabilities: np.ndarray) -> str:
    parts = []
    for digit in digits:
        attributions = integrated_gradients(classifier, image28, digit)
        title = f"Why a {digit}?" if digit == digits[0] else f"Why (not) a {digit}?"
        parts.append(figure(img(enlarge(signed(attributions), 4), f"saliency map for {digit}", MAP_WIDTH, "saliency"),
                            f"{title} ({probabilities[digit]:.0%}) Red pixels pushed towards {digit}, blue pushed away."))
    return "".join(parts)


def layers_html(classifier: Classifier, image28: np.ndarray) -> str:
    parts = []
    for layer in activations(classifier, image28):
        if layer.maps.ndim == 3:  # feature maps: 8 to a row for the early, larger ones
            sheet = enlarge(tiles(layer.maps, columns=8 if layer.maps.shape[-1] > 7 else 16), 2)
        else:
            sheet = enlarge(units(layer.maps, columns=32 if len(layer.maps) > 10 else 10), 12 if len(layer.maps) <= 10 else 8)
        parts.append(figure(img(sheet, layer.name, min(sheet.shape[1], 520), "layer"), layer.caption))
    return "".join(parts)


class InsideView:
    def __init__(self, classifiers: dict[str, Classifier]):
        self.classifiers = classifiers
        names = list(classifiers)
        self.network = gr.Radio([(c.spec.title, name) for name, c in classifiers.items()], value=names[0] if names else None,
                                label="Look inside", elem_id="inside-net")
        gr.Markdown("### The way in\nThe drawing becomes the network's 28×28 input in the steps MNIST's digits were made with.")
        self.way_in = gr.HTML(elem_id="way-in")
        gr.Markdown("### Why this digit\nWhich pixels pushed the network towards a digit, and which pushed it away "
                    "(integrated gradients: the colours add up to how far the drawing moved the digit's score from a blank pad).")
        self.pick = gr.Radio([str(d) for d in range(10)], value=None, label="Why (not) a …? (pick a digit)", elem_id="why-digit")
        self.why = gr.HTML(elem_id="why")
        gr.Markdown("### What the layers see")
        self.layers = gr.HTML(elem_id="layers")
        self.inputs = [self.network, self.pick]
        self.outputs = [self.way_in, self.why, self.layers]

    def show(self, image, network: str | None, pick: str | None) -> list[str]:
        classifier = self.classifiers.get(network)
        steps = trace(image) if image is not None else None
        if classifier is None or not steps:
            return ["", "", ""]
        image28 = steps[-1][1]
        probabilities = classifier.probabilities(image28[None])[0]
        order = [int(d) for d in np.argsort(-probabilities, kind="stable")]
        digits = [order[0]] + ([int(pick)] if pick not in (None, "") and int(pick) != order[0] else [])
        return [way_in_html(steps), why_html(classifier, image28, digits, probabilities), layers_html(classifier, image28)]
