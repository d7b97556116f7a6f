"""The page's views, one small module each; app.py composes them around one shared Sketchpad.

    draw.py      the fast path: top-3 bars, verdict and the 28x28 picture after every stroke
    compare.py   every network on the same drawing; the MNIST recipe against "what most demos do"
    inside.py    the way in, why this digit, what the layers see
    api.py       the scripting endpoints /predict and /compare
    links.py     teacher links: ?view=...&net=... pick the view and the network on open
    pictures.py  arrays -> inline PNGs for all of them

A teaching view is a class with `inputs` (its own controls), `outputs` and
`show(drawing, *inputs) -> values for outputs`; `follow` and `reading` keep it up to date.
"""

from __future__ import annotations

import itertools

import gradio as gr

_readings = itertools.count(1)  # a new value for a view's trigger after every reading


def follow(view, tab: gr.Tab, name: str, drawing: gr.State, open_view: gr.State, trigger: gr.State) -> None:
    """Show the current drawing in a teaching view when its tab is opened, when one of its own
    controls is used, and after every reading while it is open (`reading` sets its trigger)."""
    inputs = [drawing, *view.inputs]
    tab.select(lambda: name, None, open_view, queue=False, api_visibility="private").then(
        view.show, inputs, view.outputs, show_progress="hidden", api_visibility="private")
    trigger.change(view.show, inputs, view.outputs, show_progress="hidden", trigger_mode="always_last",
                   api_visibility="private")
    for control in view.inputs:
        control.input(view.show, inputs, view.outputs, show_progress="hidden", trigger_mode="always_last",
                      api_visibility="private")


def reading(draw, triggers: dict[str, gr.State], open_view: gr.State) -> tuple:
    """(fn, inputs, outputs) of the pad's event after every stroke: the bars, and a new value
    for the open teaching view's trigger, whose .change then shows that view (`follow`).

    With a class of 40 drawing, the server's cost per stroke is mostly Gradio's own work per
    event and per output, not the network's. So a student on the Draw view sends one event,
    whose outputs are the Draw view's alone and plain values: a teaching view's outputs in the
    same event would each cost an update even when skipped. A gr.State output is only stored,
    and Gradio tells the page to fire its .change only when its value changed, so only a
    student with a teaching view open pays for a second event, and only for that view.
    """

    def read(drawing, open_name: str) -> list:
        answers = list(draw.read(drawing))
        return answers + [next(_readings) if name == open_name else gr.skip() for name in triggers]

    return read, [draw.pad, open_view], [*draw.outputs, *triggers.values()]
