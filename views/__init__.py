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

import gradio as gr


def follow(view, tab: gr.Tab, name: str, drawing: gr.State, open_view: gr.State) -> None:
    """Show the current drawing in a teaching view when its tab is opened or one of its own
    controls is used. While it is open, the pad's reading refreshes it too (`reading`)."""
    inputs = [drawing, *view.inputs]
    tab.select(lambda: name, None, open_view, queue=False, api_visibility="private").then(
        view.show, inputs, view.outputs, show_progress="hidden", api_visibility="private")
    for control in view.inputs:
        control.input(view.show, inputs, view.outputs, show_progress="hidden", trigger_mode="always_last",
                      api_visibility="private")


def reading(draw, views: dict, open_view: gr.State) -> tuple:
    """(fn, inputs, outputs) of the pad's one event per stroke: the bars, then the open
    teaching view, in the same call.

    One event, not a reading followed by a .then per view: with a class of 40 drawing, the
    events themselves (queue, stream, state) cost the server more than the networks do, and
    a chained event runs even when it only skips. A student on the Draw view pays for the
    bars alone; with a teaching view open, it is computed in the same call, after the bars'
    own work, and only that one.
    """
    controls = [control for view in views.values() for control in view.inputs]
    outputs = [*draw.outputs, *(output for view in views.values() for output in view.outputs)]

    def read(drawing, open_name: str, *values) -> list:
        answers = list(draw.read(drawing))
        kept = answers[draw.outputs.index(draw.drawing)]
        for name, view in views.items():
            mine, values = values[: len(view.inputs)], values[len(view.inputs) :]
            answers += view.show(kept, *mine) if name == open_name else [gr.skip()] * len(view.outputs)
        return answers

    return read, [draw.pad, open_view, *controls], outputs
