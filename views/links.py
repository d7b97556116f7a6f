"""Teacher links: URL parameters pick the view and the network when the page opens.

    http://127.0.0.1:7860/?view=compare
    http://127.0.0.1:7860/?view=inside&net=mlp

A teacher puts one link per lesson step on a slide. Unknown values are ignored: the page
then opens as usual, on the Draw view and the first network.
"""

from __future__ import annotations

import gradio as gr

VIEWS = ("draw", "compare", "inside", "learn", "fool")  # the tab ids app.py gives its views, in page order


def opened_with(networks: list[str]):
    """The demo.load handler: (the Tabs showing the linked view, the linked network)."""

    def open_link(request: gr.Request):
        parameters = dict(request.query_params) if request is not None else {}
        view = parameters.get("view", "").lower()
        view = view if view in VIEWS else VIEWS[0]
        net = parameters.get("net", "").lower()
        return gr.Tabs(selected=view), net if net in networks else (networks[0] if networks else None)

    return open_link
