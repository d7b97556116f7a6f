"""The page's views, one small module each (the README's layout table lists them); app.py
composes them around one shared Sketchpad.

A teaching view is a class with `inputs` (its own controls, and a gr.State it keeps), `outputs` and
`show(drawing, *inputs) -> values for outputs`; `follow` keeps it up to date.
"""

from __future__ import annotations

import json

import gradio as gr


def follow(view, tab: gr.Tab, name: str, pad: gr.Sketchpad) -> None:
    """Show the pad's drawing in a teaching view when its tab is opened, when one of its own
    controls is used, and after every reading while it is open: `after_reading` has the page
    click the view's hidden refresh button then."""
    refresh = gr.Button(visible="hidden", elem_id=f"refresh-{name}")
    controls = [control.input for control in view.inputs if hasattr(control, "input")]  # a gr.State has none
    gr.on([tab.select, refresh.click, *controls], view.show, [pad, *view.inputs],
          view.outputs, show_progress="hidden", trigger_mode="always_last", api_visibility="private")


def after_reading(readings: list, views: list[str]) -> None:
    """After each reading, refresh the teaching view that is open, if one is.

    Decided in the browser, which knows the open tab: a student on the Draw view sends nothing
    more, and the pad's event stays free of per-student state, so it can be batched. The
    view's tab panel has the id "tab-<name>" (app.py) and is laid out only while open.
    """
    js = f"""() => {{
  for (const name of {json.dumps(views)}) {{
    const panel = document.getElementById('tab-' + name);
    if (panel && panel.getClientRects().length) document.getElementById('refresh-' + name)?.click();
  }}
}}"""
    for reading in readings:
        reading.then(None, None, None, js=js, api_visibility="private")
