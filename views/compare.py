"""The Compare view: the same drawing read by every network, side by side, each way in.

Each network in model/registry.py that loaded shows its top-3 bars and its measured
accuracy (from its weight file's metadata). The switch shows the lesson of the project:
"what most demos do", squeezing the whole canvas to 28x28, against the MNIST recipe; a
network that scores 99 % on MNIST misreads a drawing that reaches it the wrong way.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from model import Classifier, Prediction
from model.number import read_number
from model.preprocess import naive_resize, to_mnist
from views.pictures import img, ink

# The two ways a drawing becomes the network's 28x28 input: {key: switch label}.
WAYS = {
    "mnist": "The MNIST recipe: crop, scale to 20 px, centre",
    "naive": "What most demos do: squeeze the whole canvas to 28×28",
}
PICTURE_WIDTH = 168  # 28 x 6


def inputs28(image) -> dict[str, np.ndarray | None]:
    """The drawing as 28x28 network input each way; None for a blank drawing."""
    return {"mnist": to_mnist(image), "naive": naive_resize(image)}


def readings(classifiers: dict[str, Classifier], image) -> dict[str, dict[str, Prediction]]:
    """{network: {way: Prediction}}: every network's reading of `image`, each way.

    The unsure flag is the network's own threshold only: the gate that the Draw view adds
    judges the drawing, not the network, and would read the same for every column here.
    """
    pictures = inputs28(image)
    drawn = [way for way, image28 in pictures.items() if image28 is not None]
    answers: dict[str, dict[str, Prediction]] = {}
    for name, classifier in classifiers.items():
        probabilities = classifier.probabilities(np.stack([pictures[way] for way in drawn])) if drawn else []
        answers[name] = {way: Prediction(probabilities=None, image=None) for way in WAYS}
        for way, row in zip(drawn, probabilities):
            answers[name][way] = Prediction(probabilities=row, image=pictures[way],
                                            unsure=bool(row.max() < classifier.spec.unsure_below))
    return answers


def accuracy_line(classifier: Classifier) -> str:
    facts = classifier.metadata
    parts = []
    if "test_accuracy" in facts:
        parts.append(f"MNIST test set **{facts['test_accuracy']:.2%}**")
    if "drawn_accuracy" in facts:
        parts.append(f"drawn digits **{facts['drawn_accuracy']:.2%}**")
    return " · ".join(parts) or "accuracy not recorded in its weight file"


class CompareView:
    def __init__(self, classifiers: dict[str, Classifier], problems: dict[str, str]):
        self.classifiers = classifiers
        self.way = gr.Radio([(label, key) for key, label in WAYS.items()], value="mnist", label="How the drawing becomes 28×28",
                            elem_id="way")
        self.picture = gr.HTML(label="What every network gets (28×28)", show_label=True, container=True,
                               min_height=PICTURE_WIDTH + 40, elem_id="compare-input")
        self.bars, self.numbers = {}, {}
        with gr.Row(equal_height=True):
            for name, classifier in classifiers.items():
                with gr.Column(min_width=160):
                    gr.Markdown(f"**{classifier.spec.title}**: {classifier.spec.summary}.  \n{accuracy_line(classifier)}")
                    # A number drawn: each network's reading of it (the bars stay those of the whole drawing).
                    self.numbers[name] = gr.Markdown("", elem_id=f"compare-number-{name}")
                    self.bars[name] = gr.Label(num_top_classes=3, show_label=False, elem_id=f"compare-{name}",
                                               elem_classes="compare-bars")
        for name, problem in problems.items():
            gr.Markdown(f"*{name} is not loaded:* {problem}")
        self.inputs = [self.way]
        self.outputs = [self.picture, *self.numbers.values(), *self.bars.values()]

    def show(self, image, way: str) -> list:
        if image is None:
            return ["", *["" for _ in self.numbers], *[gr.Label(None) for _ in self.bars]]
        answers = readings(self.classifiers, image)
        image28 = next(iter(answers.values()))[way].image if answers else inputs28(image)[way]
        picture = "" if image28 is None else \
            f'<div style="margin-top: 28px; text-align: center">{img(ink(image28), f"the 28x28 input, {WAYS[way]}", PICTURE_WIDTH)}</div>'
        labels = [gr.Label(answers[name][way].confidences(3) or None, show_heading=not answers[name][way].unsure)
                  for name in self.bars]
        return [picture, *[number_line(read_number(self.classifiers[name], image)) for name in self.numbers], *labels]


def number_line(reading) -> str:
    """A network's reading of a number, or nothing for one digit (its bars say it all)."""
    if len(reading.symbols) < 2:
        return ""
    return f"Reads the number **{reading.text}**" + (" (not sure)" if reading.unsure else "")


def compare_json(classifiers: dict[str, Classifier], image) -> dict:
    """/compare's answer: {network: {way: Prediction.as_json()}} for every loaded network and both ways."""
    return {name: {way: prediction.as_json() for way, prediction in by_way.items()}
            for name, by_way in readings(classifiers, image).items()}
