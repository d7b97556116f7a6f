"""The Inside view: for the current drawing, how a number was split, the way in, why this digit,
and what the layers see.

    how it was split      model.number: the pieces of ink, the cuts tried and kept, each digit's crop
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
from model.number import Candidate, Examined, choose, examine
from model.preprocess import trace
from views.pictures import enlarge, img, ink, png_source, signed, tiles, units

STEP_WIDTH = 112  # each step of the way in, in CSS px
MAP_WIDTH = 196  # a saliency map: 28 x 7
SPLIT_WIDTH = 480  # the drawing, pieces coloured, in CSS px
# Each piece of ink its own colour (a colour-blind-safe qualitative set), cuts in red and grey.
PIECE_COLOURS = np.array([[0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [86, 180, 233],
                          [213, 94, 0], [240, 228, 66], [0, 0, 0]], np.uint8)
KEPT_CUT, TRIED_CUT = np.array([220, 0, 0], np.uint8), np.array([150, 150, 150], np.uint8)


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


def seam(labels: np.ndarray, a: int, b: int) -> np.ndarray:
    """The pixels of piece `a` that touch piece `b`: where a cut ran between them."""
    mine, theirs = labels == a, labels == b
    near = np.zeros_like(theirs)
    near[1:, :] |= theirs[:-1, :]
    near[:-1, :] |= theirs[1:, :]
    near[:, 1:] |= theirs[:, :-1]
    near[:, :-1] |= theirs[:, 1:]
    return mine & near


def split_html(classifier: Classifier, image) -> str:
    """How the reader took the drawing apart, step by step; empty for a blank drawing."""
    examined: Examined | None = examine(classifier, image)
    if examined is None:
        return ""
    lines = examined.lines
    chosen = choose(examined)
    owner = {}  # piece index -> the symbol it went to
    for number, item in enumerate(chosen):
        for index in (range(item.first, item.last) if isinstance(item, Candidate) else [lines.pieces.index(item)]):
            owner[index] = number
    picture = np.full(lines.labels.shape + (3,), 255, np.uint8)
    for index, piece in enumerate(lines.pieces):
        picture[lines.labels == piece.label] = PIECE_COLOURS[index % len(PIECE_COLOURS)]
    tried = kept = 0
    for index, piece in enumerate(lines.pieces[:-1]):
        following = lines.pieces[index + 1]
        if following.component == piece.component:  # a cut inside one component of ink
            cut = owner.get(index) != owner.get(index + 1)
            tried, kept = tried + 1, kept + cut
            picture[seam(lines.labels, piece.label, following.label) | seam(lines.labels, following.label, piece.label)] = \
                KEPT_CUT if cut else TRIED_CUT
    merged = [item for item in chosen if isinstance(item, Candidate) and item.last - item.first > 1]
    components = len({p.component for p in lines.pieces})
    facts = (f"{components} connected piece{'s' if components != 1 else ''} of ink, cut into {len(lines.pieces)}; "
             f"{tried} cut{'s' if tried != 1 else ''} tried (grey), {kept} kept (red); "
             f"{len(examined.candidates)} candidate digits the segment gate did not rule out, scored by the network in one batch; "
             f"{len(merged)} of the digits kept joined from several pieces (slabs of a cut, a 4's two strokes, a 7's bar).")
    width = min(SPLIT_WIDTH, picture.shape[1])
    pieces = figure(f'<img src="{png_source(picture)}" alt="the pieces of ink" width="{width}" style="max-width: 100%; height: auto">',
                    "1. Each piece of ink in its own colour, and the cuts: " + facts)
    crops = "".join(figure(img(ink(item.image), "a digit's 28x28", STEP_WIDTH // 2 + 28, "crop"),
                           f"{int(np.argmax(examined.probabilities[examined.candidates.index(item)]))}")
                    if isinstance(item, Candidate) else figure("", f"{item.mark} (judged by its size and place)")
                    for item in chosen)
    return pieces + figure(f'<div>{crops}</div>', "2. The reading kept, left to right: each digit's 28×28, read on its own.")


class InsideView:
    def __init__(self, classifiers: dict[str, Classifier]):
        self.classifiers = classifiers
        names = list(classifiers)
        self.network = gr.Radio([(c.spec.title, name) for name, c in classifiers.items()], value=names[0] if names else None,
                                label="Look inside", elem_id="inside-net")
        gr.Markdown("### How it was split\nA number is cut into its symbols first: the pieces of ink, the cuts "
                    "tried between touching digits, and the reading whose digits the network reads best.")
        self.split = gr.HTML(elem_id="segmentation")
        gr.Markdown("### The way in\nThe drawing becomes the network's 28×28 input in the steps MNIST's digits were made with.")
        self.way_in = gr.HTML(elem_id="way-in")
        gr.Markdown("### Why this digit\nWhich pixels pushed the network towards a digit, and which pushed it away "
                    "(integrated gradients: the colours add up to how far the drawing moved the digit's score from a blank pad).")
        self.pick = gr.Radio([str(d) for d in range(10)], value=None, label="Why (not) a …? (pick a digit)", elem_id="why-digit")
        self.why = gr.HTML(elem_id="why")
        gr.Markdown("### What the layers see")
        self.layers = gr.HTML(elem_id="layers")
        self.inputs = [self.network, self.pick]
        self.outputs = [self.split, self.way_in, self.why, self.layers]

    def show(self, image, network: str | None, pick: str | None) -> list[str]:
        classifier = self.classifiers.get(network)
        steps = trace(image) if image is not None else None
        if classifier is None or not steps:
            return ["", "", "", ""]
        image28 = steps[-1][1]
        probabilities = classifier.probabilities(image28[None])[0]
        order = [int(d) for d in np.argsort(-probabilities, kind="stable")]
        digits = [order[0]] + ([int(pick)] if pick not in (None, "") and int(pick) != order[0] else [])
        return [split_html(classifier, image), way_in_html(steps), why_html(classifier, image28, digits, probabilities), layers_html(classifier, image28)]
