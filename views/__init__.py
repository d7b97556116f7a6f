"""The page's views, one small module each; app.py composes them around one shared Sketchpad.

    draw.py      the fast path: top-3 bars, verdict and the 28x28 picture after every stroke
    compare.py   every network on the same drawing; the MNIST recipe against "what most demos do"
    inside.py    the way in, why this digit, what the layers see
    api.py       the scripting endpoints /predict and /compare
    links.py     teacher links: ?view=...&net=... pick the view and the network on open
    pictures.py  arrays -> inline PNGs for all of them

A teaching view is a class with `inputs` (its own controls), `outputs` and
`show(drawing, *inputs) -> values for outputs`; `follow` keeps it up to date.
"""

from __future__ import annotations

import gradio as gr


def follow(view, tab: gr.Tab, name: str, drawing: gr.State, open_view: gr.State, readings: list) -> None:
    """Keep a teaching view showing the current drawing, without ever delaying the bars.

    It computes when its tab is opened, when one of its own controls is used, and after
    each reading of the pad (chained with .then, so after the bars are shown) only while
    it is the open tab: a class of 30 drawing on the Draw view pays nothing for it.
    """
    inputs = [drawing, *view.inputs]
    tab.select(lambda: name, None, open_view, queue=False, api_visibility="private").then(
        view.show, inputs, view.outputs, show_progress="hidden", api_visibility="private")
    for control in view.inputs:
        control.input(view.show, inputs, view.outputs, show_progress="hidden", trigger_mode="always_last",
                      api_visibility="private")

    def show_if_open(open_name: str, image, *controls) -> list:
        return view.show(image, *controls) if open_name == name else [gr.skip()] * len(view.outputs)

    for reading in readings:
        reading.then(show_if_open, [open_view, *inputs], view.outputs, show_progress="hidden", api_visibility="private")
