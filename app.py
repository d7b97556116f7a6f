"""Draw a digit, watch a small CNN read it: the Gradio app. UI only; the ML is in model/.

    python app.py              # http://127.0.0.1:7860, or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
    python app.py --share      # also a public *.gradio.live link
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from example_digits import example_paths
from model import WeightsError, load_classifier
from model.canvas import BRUSH_RADIUS, CANVAS_SIZE
from model.preprocess import UnreadableImage, open_image
from model.weights import ASSETS

# Below this top probability the app says it is unsure instead of naming a digit. Set by
# `python -m bench.unsure_threshold` (rerun it whenever assets/cnn.pt or the brush changes):
# with the shipped weights it doubts 4.4 % of the 7383 human-drawn digits the network reads
# right, and catches 78 % of the 111 it reads wrong and 72 % of 2000 scribbles that are no digit.
# It is the highest threshold that doubts at most 5 % of correct readings: being told
# "not sure" about a clear digit costs trust too.
UNSURE_BELOW = 0.75

PREVIEW_SCALE = 10  # 28x28 -> 280x280: every input pixel a square you can see
PREVIEW_SIZE = 28 * PREVIEW_SCALE
HINT = "✏️ **Draw a digit (0–9)** in the box: one digit, any size, anywhere."
REPORT_PLOTS = {  # train.py's plots: file name -> caption
    "cnn_curves.png": "Training curves",
    "cnn_confusion.png": "Confusion matrix (MNIST test set)",
    "cnn_misclassified.png": "Test digits it gets wrong",
}

# One drawing is a few hundred thousand multiply-adds: splitting it over threads only adds
# waiting. While another process kept both cores of a 2-core machine busy, the network took
# 176 ms per drawing with torch's default 2 threads and 0.5 ms with 1.
torch.set_num_threads(1)

# The Sketchpad starts, and restarts after Clear, with no tool selected: a first stroke would
# draw nothing. Click its Brush button until Gradio marks it active.
AUTO_BRUSH_JS = """
() => {
  const started = Date.now();
  const tick = () => {
    const pad = document.querySelector('#pad');
    const brush = pad && pad.querySelector('button[aria-label="Brush"]');
    if (brush && !brush.classList.contains('highlight')) brush.click();
    if (!(brush && brush.classList.contains('highlight')) && Date.now() - started < 15000) setTimeout(tick, 100);
  };
  setTimeout(tick, 50);
}
"""
# Gradio's canvas swallows the mouse wheel (it pans, and zooms with Alt), so the page stops
# scrolling whenever the pointer is over the pad, a large part of a phone's screen. Stopping
# the event on its way down to the canvas leaves it to the page, as everywhere else.
PAGE_LOAD_JS = f"""
() => {{
  document.addEventListener('wheel', (event) => {{
    if (event.target instanceof Element && event.target.closest('#pad canvas')) event.stopPropagation();
  }}, {{capture: true}});
  ({AUTO_BRUSH_JS.strip()})();
}}
"""

try:
    classifier = load_classifier()
    weights_problem = None
except WeightsError as error:
    # Serve the page anyway and say what is wrong there: on a hosted Space the page is where
    # people look, and a crashed app shows only "Runtime error" with the reason in a log.
    print(f"error: {error}", file=sys.stderr)
    classifier = None
    weights_problem = f"⚠️ **The model could not be loaded.** {error}"


def enlarge(image28: np.ndarray) -> np.ndarray:
    """The network's input, white ink on black as it sees it, with a faint pixel grid."""
    pixels = np.kron(image28, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), np.float32)) * 255
    pixels[::PREVIEW_SCALE, :] = 0.8 * pixels[::PREVIEW_SCALE, :] + 0.2 * 128
    pixels[:, ::PREVIEW_SCALE] = 0.8 * pixels[:, ::PREVIEW_SCALE] + 0.2 * 128
    return pixels.round().astype(np.uint8)


def preview_html(image28: np.ndarray) -> str:
    """The enlarged input as an inline PNG. Inline, it arrives in the same message as the
    bars (a gr.Image would be fetched afterwards) and costs no file in Gradio's cache."""
    png = io.BytesIO()
    Image.fromarray(enlarge(image28)).save(png, format="png", compress_level=1)
    source = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return (f'<img src="{source}" width="{PREVIEW_SIZE}" height="{PREVIEW_SIZE}" alt="the 28x28 input" '
            # clear of the block's label, and crisp should a narrow screen scale it
            'style="display: block; margin: 28px auto 0; max-width: 100%; height: auto; image-rendering: pixelated">')


def read_drawing(drawing: dict | None) -> tuple[gr.Label, str, str]:
    """The outputs for the pad's current drawing: top-3 bars, a verdict, and what the network saw."""
    if classifier is None:
        return gr.Label(None), weights_problem, ""
    prediction = classifier.predict(drawing)
    if prediction.blank:
        return gr.Label(None), HINT, ""
    (digit, probability), (runner_up, _), _ = prediction.top(3)
    unsure = probability < UNSURE_BELOW
    if unsure:
        verdict = f"🤔 **Not sure.** A {digit}, or a {runner_up}? Or is it no digit at all?"
    else:
        verdict = f"It's a **{digit}** ({probability:.0%} sure)."
    # The big heading would state the top digit as a fact, so it goes when the network is unsure.
    return gr.Label(prediction.confidences(3), show_heading=not unsure), verdict, preview_html(prediction.image)


def read_image_file(image: str | None) -> dict:
    """Top 3 digits in an image file: {"blank": false, "top3": [{"digit": 7, "probability": 0.98}, ...]}.

    A picture with no digit in it (blank, or specks) answers {"blank": true, "top3": []}.
    """
    if classifier is None:
        raise gr.Error(weights_problem)
    if image is None:
        raise gr.Error("Send one image file (PNG, JPEG, WEBP, ...) with one digit on it.")
    try:
        prediction = classifier.predict(open_image(image))
    except UnreadableImage as error:
        # The message names the file as sent, not its path on this server.
        raise gr.Error(f"{Path(image).name} is not a readable image ({error.__cause__.__class__.__name__}). "
                       "Send a PNG, JPEG, WEBP, ... with one digit on it.") from None
    return {"blank": prediction.blank,
            "top3": [{"digit": digit, "probability": probability} for digit, probability in prediction.top(3)]}


def about_the_model() -> str:
    if classifier is None:
        return weights_problem
    facts = classifier.metadata
    lines = [f"- **Network:** {facts['arch'].upper()}"
             + (f" with {facts['parameters']:,} parameters" if "parameters" in facts else "")]
    if "test_accuracy" in facts:
        lines.append(f"- **Accuracy on the MNIST test set:** {facts['test_accuracy']:.2%}")
    if "command" in facts:
        lines.append(f"- **Trained with:** `{facts['command']}`")
    lines.append(f"- **Says it is unsure** when no digit gets {UNSURE_BELOW:.0%} or more.")
    return "\n".join(lines)


# Files sent to the API pile up in Gradio's cache otherwise: hourly, drop those over an hour old.
with gr.Blocks(title="Draw a digit", delete_cache=(3600, 3600)) as demo:
    gr.Markdown("# Draw a digit\nA small convolutional network trained on MNIST reads your drawing after every stroke.")
    if weights_problem:
        gr.Markdown(weights_problem)
    with gr.Row():
        with gr.Column():
            # No CSS for touch: Pixi gives the canvas touch-action: none, so a finger draws
            # there instead of scrolling (tests/test_browser.py draws with one).
            pad = gr.Sketchpad(
                canvas_size=(CANVAS_SIZE, CANVAS_SIZE),
                brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
                layers=False,
                height=CANVAS_SIZE + 62,  # the toolbar and padding take 62 px: the pad then shows at 100 %
                label="Draw here",
                elem_id="pad",
            )
        with gr.Column():
            verdict = gr.Markdown(HINT)
            top3 = gr.Label(num_top_classes=3, label="Top 3", elem_id="top3")
            network_input = gr.HTML(label="What the network sees (28×28 pixels)", show_label=True, container=True,
                                    min_height=PREVIEW_SIZE + 40, elem_id="network-input")
    # An example loaded into the pad does not fire the pad's .change, so clicking one runs it.
    # Not cached (Spaces would cache by default): reading one takes milliseconds.
    examples = example_paths()
    gr.Examples(examples, inputs=pad, outputs=[top3, verdict, network_input], fn=read_drawing, run_on_click=True,
                cache_examples=False, examples_per_page=len(examples), label="Examples: click one to load it into the pad")
    with gr.Accordion("About this model", open=False):
        gr.Markdown(about_the_model())
        plots = {ASSETS / name: caption for name, caption in REPORT_PLOTS.items() if (ASSETS / name).is_file()}
        with gr.Row():
            for path, caption in plots.items():
                gr.Image(str(path), label=caption, interactive=False, buttons=["fullscreen"])
        if not plots:
            gr.Markdown("The report plots are not in assets/: `python train.py` draws them.")
    # The scripting API: no UI of its own, only the named endpoint /predict.
    api_image = gr.File(label="image", visible=False)
    api_answer = gr.JSON(label="prediction", visible=False)

    # Private: it takes the Sketchpad's internal payload; scripts have /predict.
    pad.change(read_drawing, pad, [top3, verdict, network_input], trigger_mode="always_last",
               show_progress="hidden", api_visibility="private")
    pad.clear(None, None, None, js=AUTO_BRUSH_JS)
    demo.load(None, None, None, js=PAGE_LOAD_JS)
    api_image.change(read_image_file, api_image, api_answer, api_name="predict")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    demo.launch(share=parser.parse_args().share)
