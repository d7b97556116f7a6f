"""The scripting API: image file in, JSON out, at the named endpoints /predict, /read and /compare.

    from gradio_client import Client, handle_file
    Client("http://127.0.0.1:7860/").predict(handle_file("seven.png"), api_name="/predict")
    # {"blank": false, "unsure": false, "top3": [{"digit": 7, "probability": 0.98}, ...]}
    Client("http://127.0.0.1:7860/").predict(handle_file("2026.png"), api_name="/read")
    # {"text": "2026", "blank": false, "unsure": false, "symbols": [{"symbol": "2", "box": [...], ...}, ...]}
    Client("http://127.0.0.1:7860/").predict(handle_file("seven.png"), api_name="/compare")
    # {"cnn": {"mnist": {...as above...}, "naive": {...}}, "mlp": {...}, ...}
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from model import Classifier
from model.number import read_number
from model.picture import UnreadableImage, open_image
from views.compare import compare_json
from views.uploads import ImageUpload


def opened(path: str | None):
    """The uploaded picture, or a gr.Error that names the file as sent, never its path on this server."""
    if path is None:
        raise gr.Error("Send one image file (PNG, JPEG, WEBP, ...) with one digit on it.")
    try:
        return open_image(path)
    except UnreadableImage as error:
        # open_image's message names the file by its name only, as it was sent
        raise gr.Error(f"{error}. Send a PNG, JPEG, WEBP, ... with one digit on it.") from None


def endpoint(name: str, handler) -> None:
    """A named API endpoint, image file in, JSON out, with no UI of its own on the page."""
    upload = ImageUpload(label="image", visible=False)
    answer = gr.JSON(label=name, visible=False)
    upload.change(handler, upload, answer, api_name=name)


def predict_file(live_classifier: Callable[[], Classifier | None], problem: str | None):
    def predict(image: str | None) -> dict:
        """Top 3 digits in an image file: {"blank": false, "unsure": false, "top3": [{"digit": 7, "probability": 0.98}, ...]}.

        A picture with no digit in it (blank, or specks) answers {"blank": true, "unsure": false, "top3": []}.
        """
        classifier = live_classifier()
        if classifier is None:
            raise gr.Error(problem)
        return classifier.predict(opened(image)).as_json()

    return predict


def read_file(live_classifier: Callable[[], Classifier | None], problem: str | None):
    def read(image: str | None) -> dict:
        """A whole number in an image file: {"text": "3.14", "blank": false, "unsure": false, "symbols": [...]},
        each symbol with its box in the picture's pixels and its top 3. A lone digit is a one-symbol number."""
        classifier = live_classifier()
        if classifier is None:
            raise gr.Error(problem)
        return read_number(classifier, opened(image)).as_json()

    return read


def compare_file(classifiers: dict[str, Classifier]):
    def compare(image: str | None) -> dict:
        """Every network's top 3 for an image file, each way in: {network: {"mnist": {...}, "naive": {...}}}.

        "mnist" is the app's MNIST recipe (crop, scale, centre); "naive" the whole picture
        squeezed to 28x28, as most demos do. Each answer is shaped like /predict's.
        """
        if not classifiers:
            raise gr.Error("No network could be loaded on this server.")
        return compare_json(classifiers, opened(image))

    return compare
