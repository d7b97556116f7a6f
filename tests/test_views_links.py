"""views/links.py: teacher links pick the view and the network when the page opens."""

import gradio as gr
import pytest

from views.links import VIEWS, opened_with

NETWORKS = ["cnn", "mlp", "numpy"]


def opened(**query) -> tuple:
    tabs, net = opened_with(NETWORKS)(gr.Request(query_params=query))
    return tabs.selected if hasattr(tabs, "selected") else tabs["selected"], net


@pytest.mark.parametrize("query, expected", [
    ({"view": "inside", "net": "mlp"}, ("inside", "mlp")),
    ({"view": "COMPARE"}, ("compare", "cnn")),
    ({}, ("draw", "cnn")),
    ({"view": "nowhere", "net": "resnet"}, ("draw", "cnn")),  # unknown values: opens as usual
])
def test_a_link_opens_its_view_and_network(query, expected):
    assert opened(**query) == expected


def test_the_views_are_the_page_tabs():
    import app

    assert [tab.id for tab in app.demo.blocks.values() if isinstance(tab, gr.Tab) and tab.id in VIEWS] == list(VIEWS)
