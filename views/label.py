"""Say what you meant: under the reading, one click says "right" or which digit was meant.

The drawing, its 28x28 input, the label and what the live network said are kept in the class
store (classroom/store.py); then the pad clears for the next digit and a counter shows how
many digits this student gave. A drawn number is labelled by typing it: its digits join the
class set only when the counts match. For scripts, /label(image, digit) and
/label_number(image, text) do the same.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

import re

from classroom import store
from model import live
from model.number import read_number
from views.api import opened
from views.uploads import ImageUpload

# Under 600 px wide (a phone) the buttons sit in one compact grid of 11, so that the pad, the
# reading and the buttons fit a 390x844 screen together.
CSS = """
#say-what-you-meant { gap: 6px; }
#say-what-you-meant button { min-width: 0; padding: 6px 0; font-size: 1.1rem; }
#label-reading, #label-question, #label-counter { margin: 0; }
@media (max-width: 600px) {
  #say-what-you-meant { display: grid; grid-template-columns: repeat(6, 1fr); }
  #say-what-you-meant #label-right { grid-column: span 2; }
}
"""
# Labels saved at once, all buttons and /label together. More than one, so that while one label
# waits for its fsync the next one is being read; SQLite still writes one at a time (store.py).
SAVES_AT_ONCE = 4
QUESTION = "Right? Click ✓, or what you meant:"
# What a student may type for a number: digits, at most one point, a leading minus.
NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
LONGEST_NUMBER = 12


def save(image, digit: int | None, session: str) -> tuple[int, int | None]:
    """Keep one labelled drawing; `digit` None means "the network was right". Returns (id, digit meant).

    Reads the drawing again with the live network rather than trusting what the page showed:
    the label must go with what the network said about exactly these pixels.
    """
    network = live.current()  # one read: name, version and weights of the same network
    prediction = network.classifier.predict(image)
    if prediction.blank:
        raise gr.Error("There is no digit on the pad yet: draw one first.", print_exception=False)
    read_as = prediction.top(1)[0][0]
    meant = read_as if digit is None else digit
    composite = image["composite"] if isinstance(image, dict) else image
    new = store.shared().add(session=session, digit=meant, read_as=read_as, probabilities=prediction.probabilities,
                             network=network.name, version=network.version, png=store.png_bytes(composite),
                             image28=prediction.image)
    return new, meant


def save_number(image, text: str | None, session: str) -> tuple[int, bool]:
    """Keep a drawn number with what the student meant (`text`; None: "read right"). Its digit
    crops join the class set only when as many digits were typed as read, so that no crop is
    learnt as another digit. Returns (id, whether the crops joined)."""
    network = live.current()
    reading = read_number(network.classifier, image)
    if reading.blank:
        raise gr.Error("There is no number on the pad yet: draw one first.", print_exception=False)
    meant = reading.text if text is None else text
    digits = [s for s in reading.symbols if s.probabilities is not None]
    typed = [int(c) for c in meant if c.isdigit()]
    crops = [(d, int(s.symbol), s.probabilities, s.image) for d, s in zip(typed, digits)] if len(typed) == len(digits) else []
    composite = image["composite"] if isinstance(image, dict) else image
    new = store.shared().add_number(session=session, text=meant, read_as=reading.text, network=network.name,
                                    version=network.version, png=store.png_bytes(composite), digits=crops)
    return new, bool(crops)


def checked_number(text) -> str:
    """The number a student typed, tidied; a clear message for anything else."""
    text = str(text or "").strip().replace("−", "-").replace(",", ".")
    if not text:
        raise gr.Error("Type the number you meant first, e.g. 2026 or 3.14.", print_exception=False)
    if len(text) > LONGEST_NUMBER or not NUMBER.fullmatch(text):
        raise gr.Error(f"“{text[:LONGEST_NUMBER]}” is not a number: use digits, one point at most and a minus in front, "
                       f"at most {LONGEST_NUMBER} characters.", print_exception=False)
    return text


def counter_text(session: str) -> str:
    given = store.shared().count(session=session)
    return f"✅ Saved. You gave **{given}** digit{'s' if given != 1 else ''}. Draw the next one!"


def label_drawing(drawing: dict | None, digit: int | None, request: gr.Request):
    """A click under the reading: save, then clear the pad and show the counter."""
    if drawing is None or drawing.get("composite") is None:
        raise gr.Error("There is no digit on the pad yet: draw one first.", print_exception=False)
    if len(read_number(live.classifier(), drawing).symbols) > 1:
        if digit is not None:
            raise gr.Error("That is a number, not one digit: type the number you meant in the box.", print_exception=False)
        save_number(drawing, None, request.session_hash)
    else:
        save(drawing, digit, request.session_hash)
    return counter_text(request.session_hash)


def label_number(drawing: dict | None, text: str, request: gr.Request):
    """The number typed under the reading: save it, then clear the pad and show the counter."""
    if drawing is None or drawing.get("composite") is None:
        raise gr.Error("There is no number on the pad yet: draw one first.", print_exception=False)
    _, joined = save_number(drawing, checked_number(text), request.session_hash)
    note = "" if joined else " Its digits were not added to the class set: the count of digits differs from what was read."
    return counter_text(request.session_hash) + note, ""


def label_image_file(image: str | None, digit, request: gr.Request) -> dict:
    """/label(image, digit): keep an image file with the digit it shows. {"id": 12, "saved": true}."""
    try:
        meant = int(digit)
        if meant != digit or not 0 <= meant <= 9:
            raise ValueError
    except (TypeError, ValueError):
        raise gr.Error(f"digit must be a whole number from 0 to 9, not {digit!r}.", print_exception=False) from None
    new, _ = save(np.asarray(opened(image).convert("RGBA")), meant, request.session_hash)
    return {"id": new, "saved": True}


def label_number_file(image: str | None, text, request: gr.Request) -> dict:
    """/label_number(image, text): keep an image file of a number with the number it shows.

    {"id": 12, "saved": true, "digits_joined": true}: its digits join the class set only when
    `text` has as many digits as were read, as when a student types it.
    """
    new, joined = save_number(np.asarray(opened(image).convert("RGBA")), checked_number(text), request.session_hash)
    return {"id": new, "saved": True, "digits_joined": joined}


class LabelView:
    """Under the pad: the reading again in one line, "right?" and the digit buttons, and the counter.

    Under the pad rather than beside it, because on a phone the page is one column and the
    Draw tab's reading sits below the pad and the examples: a student drawing with a finger
    must see what the network read and the buttons without scrolling.
    """

    def __init__(self, pad: gr.Sketchpad):
        self.reading = gr.Markdown(elem_id="label-reading")
        gr.Markdown(QUESTION, elem_id="label-question")
        with gr.Row(elem_id="say-what-you-meant"):
            right = gr.Button("✓ right", variant="primary", elem_id="label-right", min_width=0)
            digits = [gr.Button(str(d), elem_id=f"label-{d}", min_width=0) for d in range(10)]
        with gr.Row(elem_id="label-number-row"):
            number = gr.Textbox(show_label=False, placeholder="a number? type it: 2026", container=False,
                                elem_id="label-number", max_length=LONGEST_NUMBER, scale=3, min_width=0)
            save_typed = gr.Button("Save", elem_id="label-number-save", scale=1, min_width=0)
        self.counter = gr.Markdown("", elem_id="label-counter")
        # Once saved, the pad is cleared by clicking its own Clear button: the page then does
        # what it does for a student's Clear (empty bars, brush selected again). Setting the
        # Sketchpad's value to None from Python instead left Gradio 6.31's editor drawing nothing.
        clear_pad = f"""() => document.querySelector('#{pad.elem_id} button[aria-label="Clear canvas"]').click()"""
        # Private: they take the Sketchpad's internal payload; scripts have /label and /label_number.
        for digit, button in [(None, right), *enumerate(digits)]:
            button.click(labeller(digit), pad, self.counter, show_progress="hidden", api_visibility="private",
                         concurrency_limit=SAVES_AT_ONCE, concurrency_id="label").success(
                None, None, None, js=clear_pad, api_visibility="private")
        # Named apart from /label_number, the public endpoint with the same job for image files.
        gr.on([save_typed.click, number.submit], label_number, [pad, number], [self.counter, number], show_progress="hidden",
              api_name="label_typed_number", api_visibility="private", concurrency_limit=SAVES_AT_ONCE, concurrency_id="label").success(
            None, None, None, js=clear_pad, api_visibility="private")

    def follow(self, verdict: gr.Markdown, readings: list) -> None:
        """Show the Draw view's verdict above the buttons after every reading, copied in the
        browser: no second trip to the server."""
        for reading in readings:
            reading.then(None, verdict, self.reading, js="(verdict) => verdict", show_progress="hidden",
                         api_visibility="private")


def labeller(digit: int | None):
    """The click handler of one button. A def, not a lambda: Gradio finds gr.Request by the annotation."""

    def handler(drawing: dict | None, request: gr.Request):
        return label_drawing(drawing, digit, request)

    return handler


def build_api() -> None:
    """/label and /label_number for scripts: no UI of their own."""
    image = ImageUpload(label="image", visible=False)  # /predict's upload path: no stray file per call
    digit = gr.Number(label="digit", visible=False)  # no precision: Gradio would round 3.5 to 4 silently
    text = gr.Textbox(label="text", visible=False)
    answer = gr.JSON(label="saved", visible=False)
    gr.Button(visible=False).click(label_image_file, [image, digit], answer, api_name="label",
                                   concurrency_limit=SAVES_AT_ONCE, concurrency_id="label")
    gr.Button(visible=False).click(label_number_file, [image, text], answer, api_name="label_number",
                                   concurrency_limit=SAVES_AT_ONCE, concurrency_id="label")
