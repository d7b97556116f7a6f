"""The Draw view: after every stroke, the top-3 bars, a verdict and the 28x28 picture the network read.

This is the page's fast path: it runs on every stroke, so it does only this, batched: the
strokes of students who draw at the same moment are read in one call and one forward pass.
A teaching view that is open follows in an event of its own (views.follow).
"""

from __future__ import annotations

from typing import Callable

import gradio as gr
import numpy as np

from model import Classifier
from views.pictures import img

PREVIEW_SCALE = 10  # 28x28 -> 280x280: every input pixel a square you can see
PREVIEW_SIZE = 28 * PREVIEW_SCALE
HINT = "✏️ **Draw a digit (0–9)** in the box: one digit, any size, anywhere."


def with_grid(image28: np.ndarray) -> np.ndarray:
    """The network's input enlarged, white ink on black as it sees it, with a faint pixel grid."""
    pixels = np.kron(image28, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), np.float32)) * 255
    pixels[::PREVIEW_SCALE, :] = 0.8 * pixels[::PREVIEW_SCALE, :] + 0.2 * 128
    pixels[:, ::PREVIEW_SCALE] = 0.8 * pixels[:, ::PREVIEW_SCALE] + 0.2 * 128
    return pixels.round().astype(np.uint8)


def preview_html(image28: np.ndarray) -> str:
    # a margin clear of the block's label
    return f'<div style="margin-top: 28px; text-align: center">{img(with_grid(image28), "the 28x28 input", PREVIEW_SIZE)}</div>'


# The Label's big heading states the top digit as a fact, so it goes while the network is
# unsure. The verdict carries a marker and CSS hides the heading: the Label then gets a plain
# value after every stroke. A gr.Label(..., show_heading=...) update instead makes Gradio build
# a new component and its API schema for the session, per stroke, which costs more than reading.
UNSURE = '<span class="unsure"></span>'
CSS = """
.gradio-container:has(#verdict .unsure) #top3 [data-testid="label-output-value"] { display: none; }
"""


def verdict(prediction) -> str:
    (digit, probability), (runner_up, _), _ = prediction.top(3)
    if prediction.unsure:
        return f"{UNSURE}🤔 **Not sure.** A {digit}, or a {runner_up}? Or is it no digit at all?"
    return f"It's a **{digit}** ({probability:.0%} sure)."


class DrawView:
    """The bars, the verdict and the preview; `on_strokes` is the pad's .change handler."""

    def __init__(self, pad: gr.Sketchpad, live_classifier: Callable[[], Classifier | None], problem: str | None):
        self.pad = pad
        self.live_classifier = live_classifier  # called per reading: the live network may be swapped while serving
        self.problem = problem
        self.verdict = gr.Markdown(problem or HINT, elem_id="verdict")
        self.top3 = gr.Label(num_top_classes=3, label="Top 3", elem_id="top3")
        self.preview = gr.HTML(label="What the network sees (28×28 pixels)", show_label=True, container=True,
                               min_height=PREVIEW_SIZE + 40, elem_id="network-input")
        # Plain values only, and no gr.State: a batch mixes students, and Gradio keeps a
        # gr.State per student (it would give the whole batch the first student's).
        self.outputs = [self.top3, self.verdict, self.preview]

    def on_strokes(self, drawings: list) -> list[list]:
        """The pad's batched .change handler: Gradio gives one list per input and wants one
        list per output."""
        return [list(column) for column in zip(*self.read_batch(drawings))]

    def read(self, drawing) -> tuple[dict | None, str, str]:
        """Top-3 bars, a verdict and what the network saw, for one drawing."""
        return self.read_batch([drawing])[0]

    def read_batch(self, drawings: list) -> list[tuple[dict | None, str, str]]:
        """`read` for many drawings in one forward pass. A drawing that cannot be read gets its own
        message and does not spoil the others in its batch."""
        classifier = self.live_classifier()
        if classifier is None:
            return [(None, self.problem, "")] * len(drawings)
        try:
            predictions = classifier.predict_batch(drawings)
        except ValueError:  # which one? read them one by one
            predictions = [read_or_say_why(classifier, drawing) for drawing in drawings]
        return [answer(prediction) for prediction in predictions]


def read_or_say_why(classifier: Classifier, drawing):
    try:
        return classifier.predict(drawing)
    except ValueError as error:
        return f"⚠️ **This drawing could not be read:** {error}"


def answer(prediction) -> tuple[dict | None, str, str]:
    if isinstance(prediction, str):  # why it could not be read
        return None, prediction, ""
    if prediction.blank:
        return None, HINT, ""
    return prediction.confidences(3), verdict(prediction), preview_html(prediction.image)
