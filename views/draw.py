"""The Draw view: after every stroke, what the pad holds read as a number: one digit shows the
top-3 bars, a verdict and the 28x28 picture the network read; several symbols show the number,
each symbol boxed on the drawing with its reading, and each digit's top 3 and 28x28.

This is the page's fast path: it runs on every stroke, so it does only this, batched: the
strokes of students who draw at the same moment are read in one call, and all their candidate
digits in one forward pass (model.number.read_numbers). A teaching view that is open follows in
an event of its own (views.follow).
"""

from __future__ import annotations

import html
from typing import Callable

import gradio as gr
import numpy as np

from model import Classifier
from model.ink import ink_as_float, ink_map
from model.number import Reading, Symbol, read_numbers
from model.picture import read_pixels
from views.pictures import img, png_source

PREVIEW_SCALE = 10  # 28x28 -> 280x280: every input pixel a square you can see
PREVIEW_SIZE = 28 * PREVIEW_SCALE
DIGIT_PREVIEW = 112  # each digit's 28x28 of a number, in CSS px
HINT = "✏️ **Draw a digit (0–9), or a whole number** like 2026, 3.14 or −17: any size, anywhere on the pad."
ORDINALS = ("1st", "2nd", "3rd")


def with_grid(image28: np.ndarray) -> np.ndarray:
    """The network's input enlarged, white ink on black as it sees it, with a faint pixel grid."""
    pixels = np.kron(image28, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), np.float32)) * 255
    pixels[::PREVIEW_SCALE, :] = 0.8 * pixels[::PREVIEW_SCALE, :] + 0.2 * 128
    pixels[:, ::PREVIEW_SCALE] = 0.8 * pixels[:, ::PREVIEW_SCALE] + 0.2 * 128
    return pixels.round().astype(np.uint8)


def preview_html(digits: list[Symbol]) -> str:
    """The 28x28 input of each digit read, enlarged; large for one digit, a row for a number."""
    if len(digits) == 1:  # a margin clear of the block's label
        return f'<div style="margin-top: 28px; text-align: center">{img(with_grid(digits[0].image), "the 28x28 input", PREVIEW_SIZE)}</div>'
    pictures = "".join(f'<figure style="display: inline-block; margin: 0 6px 6px 0">{img(with_grid(d.image), f"the 28x28 input of the {ordinal(i)} digit", DIGIT_PREVIEW)}'
                       f'<figcaption style="text-align: center">{d.symbol}</figcaption></figure>' for i, d in enumerate(digits))
    return f'<div style="margin-top: 28px">{pictures}</div>'


def ordinal(index: int) -> str:
    return ORDINALS[index] if index < len(ORDINALS) else f"{index + 1}th"


# Markers in the verdict that the page's CSS acts on. For "unsure" the Label's big heading goes:
# it states the top digit as a fact. For "several" the whole Label goes: the number is the answer.
# A plain value then reaches the Label after every stroke; a gr.Label(..., show_heading=...) or
# visible= update instead makes Gradio build a new component and its API schema per stroke.
UNSURE = '<span class="unsure"></span>'
SEVERAL = '<span class="several"></span>'
CSS = """
.gradio-container:has(#verdict .unsure) #top3 [data-testid="label-output-value"] { display: none; }
.gradio-container:has(#verdict .unsure) #top3 .output-class-placeholder { display: none; }
.gradio-container:has(#verdict .unsure) #top3 { padding-top: 2.2em; }
.gradio-container:has(#verdict .several) #top3 { display: none; }
#number, #number * { font-size: 3rem !important; font-weight: 700; line-height: 1.1; letter-spacing: 0.05em; font-variant-numeric: tabular-nums; }
#symbols svg text { font: bold 44px sans-serif; }
#symbols table { border-collapse: collapse; margin-top: 8px; }
#symbols td { padding: 2px 10px; text-align: center; vertical-align: top; font-size: 0.9rem; }
#symbols td.read { font-size: 1.6rem; font-weight: 700; }
#symbols .unsure-symbol { color: #b35806; }
"""
SURE_COLOUR, UNSURE_COLOUR = "#1a9850", "#e66101"  # green boxes; orange and dashed for "not sure"


def verdict(reading: Reading) -> str:
    digits = [s for s in reading.symbols if s.probabilities is not None]
    if len(reading.symbols) == 1 and digits:
        (digit, probability), (runner_up, _), _ = digits[0].top(3)
        if digits[0].unsure:
            return f"{UNSURE}🤔 **Not sure.** A {digit}, or a {runner_up}? Or is it no digit at all?"
        return f"It's a **{digit}** ({probability:.0%} sure)."
    unsure = [(i, s) for i, s in enumerate(reading.symbols) if s.unsure]
    if not unsure:
        return f"{SEVERAL}It reads **{html.escape(reading.text)}**."
    doubts = "; ".join(f"the {ordinal(i)} symbol: {a(s.top(2)[0][0])}, or {a(s.top(2)[1][0])}?" for i, s in unsure[:3])
    return f"{SEVERAL}{UNSURE}It reads **{html.escape(reading.text)}**. 🤔 **Not sure** about {doubts} Boxed in orange."


def a(digit: str) -> str:
    return f"an {digit}" if digit == "8" else f"a {digit}"


def symbols_html(pixels: np.ndarray, reading: Reading) -> str:
    """The drawing with each symbol boxed and labelled, then each symbol's top 3: for a number only."""
    if len(reading.symbols) < 2:
        return ""
    ink = ink_map(pixels)
    height, width = pixels.shape[:2]
    paper = (255 - ink_as_float(ink) * 200).round().astype(np.uint8)  # grey ink: the boxes stand out
    marks = []
    for s in reading.symbols:
        x0, y0, x1, y1 = s.box
        colour = UNSURE_COLOUR if s.unsure else SURE_COLOUR
        dash = ' stroke-dasharray="10 6"' if s.unsure else ""
        label = html.escape(s.symbol + ("?" if s.unsure else ""))
        marks.append(f'<g data-symbol="{html.escape(s.symbol)}" data-unsure="{str(s.unsure).lower()}">'
                     f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="{colour}" stroke-width="4"{dash}/>'
                     f'<text x="{(x0 + x1) / 2:.0f}" y="{max(y0 - 6, 40)}" text-anchor="middle" fill="{colour}">{label}</text></g>')
    picture = (f'<div style="position: relative; width: 100%; max-width: {width}px">'
               f'<img src="{png_source(paper)}" alt="the drawing, each symbol boxed" style="width: 100%; height: auto; display: block">'
               f'<svg viewBox="0 0 {width} {height}" style="position: absolute; inset: 0; width: 100%; height: 100%">{"".join(marks)}</svg></div>')
    cells = [[], []]
    for s in reading.symbols:
        css = ' class="unsure-symbol"' if s.unsure else ""
        cells[0].append(f'<td class="read"><span{css}>{html.escape(s.symbol)}</span></td>')
        if s.probabilities is None:
            cells[1].append('<td>by its size and place</td>')
        else:
            top = "<br>".join(f"{d} {p:.0%}" for d, p in s.top(3))
            cells[1].append(f'<td{css}>{top}{"<br><b>not sure</b>" if s.unsure else ""}</td>')
    table = "".join(f"<tr>{''.join(row)}</tr>" for row in cells)
    return f'{picture}<div style="overflow-x: auto"><table aria-label="each symbol\'s top 3">{table}</table></div>'


class DrawView:
    """The number, the verdict, the bars, the boxed symbols and the preview; `on_strokes` is the
    pad's .change handler."""

    def __init__(self, pad: gr.Sketchpad, live_classifier: Callable[[], Classifier | None], problem: str | None):
        self.pad = pad
        self.live_classifier = live_classifier  # called per reading: the live network may be swapped while serving
        self.problem = problem
        # Its text is the number read and nothing else (empty while the pad is blank): what a script,
        # a test or a screen reader reads off the page.
        self.number = gr.HTML("", elem_id="number", container=False)
        self.verdict = gr.Markdown(problem or HINT, elem_id="verdict")
        self.top3 = gr.Label(num_top_classes=3, label="Top 3", elem_id="top3")
        self.symbols = gr.HTML("", elem_id="symbols", container=False)
        self.preview = gr.HTML(label="What the network sees (28×28 pixels)", show_label=True, container=True,
                               min_height=PREVIEW_SIZE + 40, elem_id="network-input")
        # Plain values only, and no gr.State: a batch mixes students, and Gradio keeps a
        # gr.State per student (it would give the whole batch the first student's).
        self.outputs = [self.number, self.top3, self.verdict, self.symbols, self.preview]

    def on_strokes(self, drawings: list) -> list[list]:
        """The pad's batched .change handler: Gradio gives one list per input and wants one
        list per output."""
        return [list(column) for column in zip(*self.read_batch(drawings))]

    def read(self, drawing) -> tuple:
        """The number, top-3 bars, a verdict, the boxed symbols and what the network saw, for one drawing."""
        return self.read_batch([drawing])[0]

    def read_batch(self, drawings: list) -> list[tuple]:
        """`read` for many drawings in one forward pass. A drawing that cannot be read gets its own
        message and does not spoil the others in its batch."""
        classifier = self.live_classifier()
        if classifier is None:
            return [("", None, self.problem, "", "")] * len(drawings)
        pictures = [read_or_say_why(drawing) for drawing in drawings]
        drawn = [p for p in pictures if isinstance(p, np.ndarray)]
        try:
            readings = read_numbers(classifier, drawn)
        except ValueError:  # which one? read them one by one
            readings = [read_one_or_say_why(classifier, p) for p in drawn]
        readings = iter(readings)
        return [answer(p, next(readings)) if isinstance(p, np.ndarray) else answer(None, p) for p in pictures]


def read_or_say_why(drawing) -> np.ndarray | str | None:
    """The drawing's pixels (None when there is no picture), or why they cannot be read."""
    try:
        return read_pixels(drawing)
    except ValueError as error:
        return f"⚠️ **This drawing could not be read:** {error}"


def read_one_or_say_why(classifier: Classifier, pixels: np.ndarray) -> Reading | str:
    try:
        return read_numbers(classifier, [pixels])[0]
    except ValueError as error:
        return f"⚠️ **This drawing could not be read:** {error}"


def answer(pixels: np.ndarray | None, reading: Reading | str | None) -> tuple:
    """The Draw view's outputs for one drawing: number, bars, verdict, boxed symbols, preview."""
    if isinstance(reading, str):  # why it could not be read
        return "", None, reading, "", ""
    if reading is None or reading.blank:
        return "", None, HINT, "", ""
    digits = [s for s in reading.symbols if s.probabilities is not None]
    bars = dict(digits[0].top(3)) if len(reading.symbols) == 1 and digits else None
    return (html.escape(reading.text), bars, verdict(reading), symbols_html(pixels, reading),
            preview_html(digits) if digits else "")
