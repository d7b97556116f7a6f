"""The Learn view: train the numpy two-layer network from nothing and watch it learn.

Knobs (hidden units, learning rate, batch size, how long), Start, Stop, Reset. While it trains,
about twice a second: the training loss and the accuracy on 1,000 MNIST test digits as curves,
the drawing on the pad read by this network, the first layer's weights as pictures, and the
accuracy per digit. training/learn.py trains; this module shows.

The network is the student's own: it lives in the session (a Desk in gr.State), is never served
to anyone else, and sits beside the shipped networks on the current drawing. One training runs
at a time on a server (training.learn.QUEUE); the others wait, and their page says so.
"""

from __future__ import annotations

import base64
import io

import anyio.to_thread
import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from model import Classifier, Prediction
from model.preprocess import to_mnist
from training.learn import LIMITS, QUEUE, Run, Settings, learn, queued
from views.pictures import signed

WEIGHT_PICTURES = 32  # hidden units whose weights are shown, at most
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]
BATCH_SIZES = [1, 8, 16, 32, 64, 128, 256, 512]
HINT = "Press **Start**: a network with random weights begins to learn from the MNIST digits that ship with the app."


class Desk:
    """One session's Learn view: its network (a training.learn.Run; None before the first Start),
    the pad's drawing as 28x28 and the shipped networks' reading of it, and whether a training
    of it is under way. gr.State makes one per session."""

    def __init__(self):
        self.run: Run | None = None
        self.image28: np.ndarray | None = None
        self.shipped: dict[str, np.ndarray] = {}  # network -> probabilities for image28
        self.training = False

    def network_for(self, hidden: int) -> Run:
        """The session's network, a new one when there is none yet or it has another size."""
        if self.run is None or self.run.hidden != hidden:
            self.run = Run(hidden)
        return self.run


def weights_picture(run: Run) -> np.ndarray:
    """The first layer's weights, one 28x28 picture per hidden unit (up to WEIGHT_PICTURES), each
    on its own scale: red where ink raises the unit, blue where ink lowers it."""
    weights = run.network.params["W1"][:, :WEIGHT_PICTURES].T.reshape(-1, 28, 28)
    columns = min(8, len(weights))
    rows = -(-len(weights) // columns)
    sheet = np.full((rows * 29 + 1, columns * 29 + 1, 3), 96, np.uint8)
    for index, unit in enumerate(weights):
        top, left = 1 + (index // columns) * 29, 1 + (index % columns) * 29
        sheet[top:top + 28, left:left + 28] = signed(unit)
    return sheet


def weights_html(run: Run | None) -> str:
    if run is None:
        return ""
    sheet = weights_picture(run)
    shown = min(WEIGHT_PICTURES, run.hidden)
    caption = (f"The first layer's weights: one 28×28 picture per hidden unit ({shown} of {run.hidden}). Red: ink there "
               "switches the unit on; blue: switches it off. Noise at first, then strokes of digits.")
    # Sent twice a second: in 16 colours the PNG is a tenth of the size (noise hardly compresses),
    # and the browser shows it twice as large, pixelated.
    png = io.BytesIO()
    Image.fromarray(sheet).quantize(16, method=Image.Quantize.FASTOCTREE).save(png, format="png")
    source = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return (f'<figure style="margin: 0"><img src="{source}" alt="first-layer weights" class="weights" '
            f'width="{2 * sheet.shape[1]}" height="{2 * sheet.shape[0]}" style="max-width: 100%; height: auto; '
            f'image-rendering: pixelated"><figcaption style="font-size: 0.85em">{caption}</figcaption></figure>')


def curves(run: Run | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(loss curve, accuracy curve) as the LinePlots want them."""
    if run is None or not run.curve:
        return None, None
    frame = pd.DataFrame([[p.seconds, p.step, p.loss, 100 * p.test_accuracy] for p in run.curve],
                         columns=["seconds", "step", "loss", "test accuracy (%)"])
    return frame, frame


def per_digit_markdown(run: Run | None) -> str:
    if run is None or run.per_digit is None:
        return ""
    return ("| digit | " + " | ".join(map(str, range(10))) + " |\n|---|" + "---|" * 10 + "\n"
            "| read right (%) | " + " | ".join(f"{100 * share:.0f}" for share in run.per_digit) + " |")


def reading(run: Run | None, image28: np.ndarray | None) -> dict | None:
    """The top 3 of this network for the pad's drawing, for a gr.Label."""
    if run is None or image28 is None:
        return None
    return Prediction(probabilities=run.classifier().probabilities(image28[None])[0], image=image28).confidences(3)


def comparison_markdown(desk: Desk, titles: dict[str, str]) -> str:
    """The student's network beside the shipped ones, on the same drawing."""
    if desk.image28 is None:
        return "Draw a digit on the pad to compare your network with the shipped ones."
    rows = []
    if desk.run is not None:
        mine = desk.run.classifier().probabilities(desk.image28[None])[0]
        rows.append((f"**yours** (784 → {desk.run.hidden} → 10, {desk.run.seconds:.0f} s of training)", mine))
    rows += [(titles[name], probabilities) for name, probabilities in desk.shipped.items()]
    lines = ["| network | reads |", "|---|---|"]
    lines += [f"| {name} | **{int(p.argmax())}** ({p.max():.0%}) |" for name, p in rows]
    return "\n".join(lines)


def status_line(run: Run, settings: Settings, verb: str) -> str:
    last = run.curve[-1]
    return (f"{verb} {run.seconds:.1f} s, {run.steps:,} steps · training loss {last.loss:.3f} · "
            f"test accuracy **{last.test_accuracy:.1%}** (784 → {run.hidden} → 10, learning rate {settings.learning_rate:g}, "
            f"batch {settings.batch_size})")


class LearnView:
    def __init__(self, classifiers: dict[str, Classifier]):
        self.classifiers = classifiers
        self.titles = {name: classifier.spec.title for name, classifier in classifiers.items()}
        self.desk = gr.State(Desk)  # a callable: Gradio calls it for each new session
        gr.Markdown("### Train a network from nothing\nThe numpy two-layer network (every pixel wired to each hidden "
                    "unit, those to the 10 digits), learning while you watch. It is yours alone: nobody else reads with it.")
        defaults = Settings()
        with gr.Row():
            self.hidden = gr.Slider(*LIMITS["hidden"], value=defaults.hidden, step=10, label="Hidden units", elem_id="learn-hidden")
            self.learning_rate = gr.Dropdown(LEARNING_RATES, value=defaults.learning_rate, label="Learning rate",
                                             elem_id="learn-rate")
            self.batch_size = gr.Dropdown(BATCH_SIZES, value=defaults.batch_size, label="Batch size", elem_id="learn-batch")
            self.seconds = gr.Slider(*LIMITS["seconds"], value=defaults.seconds, step=1, label="Train for (seconds)",
                                     elem_id="learn-seconds")
        with gr.Row():
            self.start_button = gr.Button("▶ Start", variant="primary", elem_id="learn-start")
            self.stop_button = gr.Button("⏸ Stop", elem_id="learn-stop")
            self.reset_button = gr.Button("↺ Reset", elem_id="learn-reset")
        self.status = gr.Markdown(HINT, elem_id="learn-status")
        with gr.Row():
            self.loss = gr.LinePlot(x="seconds", y="loss", x_title="seconds of training", y_title="training loss",
                                    height=220, label="Training loss", elem_id="learn-loss")
            self.accuracy = gr.LinePlot(x="seconds", y="test accuracy (%)", x_title="seconds of training",
                                        y_lim=[0, 100], height=220, label="Accuracy on 1,000 MNIST test digits",
                                        elem_id="learn-accuracy")
        with gr.Row():
            self.reading = gr.Label(num_top_classes=3, label="Your network reads the pad", elem_id="learn-reading")
            self.comparison = gr.Markdown(elem_id="learn-comparison")
        self.weights = gr.HTML(elem_id="learn-weights")
        self.per_digit = gr.Markdown(elem_id="learn-per-digit")
        # views.follow: the pad's drawing read again when the tab opens and after every reading
        self.inputs = [self.desk]
        self.outputs = [self.reading, self.comparison]
        self.training_outputs = [self.status, self.loss, self.accuracy, self.reading, self.comparison, self.weights,
                                 self.per_digit]

    def wire(self, pad: gr.Sketchpad) -> None:
        """The buttons' events: call inside the Blocks, after the view is built."""
        # trigger_mode="once": a second click while the training runs is ignored by the page
        self.start_button.click(self.start, [pad, self.desk, self.hidden, self.learning_rate, self.batch_size, self.seconds],
                                self.training_outputs, trigger_mode="once", concurrency_limit=None,
                                show_progress="hidden", api_visibility="private")
        # Not queued behind anything: a stop must reach a training at once.
        self.stop_button.click(stop, self.desk, None, concurrency_limit=None, show_progress="hidden", api_visibility="private")
        self.reset_button.click(self.reset, self.desk, self.training_outputs, concurrency_limit=None,
                                show_progress="hidden", api_visibility="private")

    def look_at(self, desk: Desk, drawing) -> None:
        desk.image28 = to_mnist(drawing) if drawing is not None else None
        desk.shipped = {} if desk.image28 is None else {
            name: classifier.probabilities(desk.image28[None])[0] for name, classifier in self.classifiers.items()}

    def show(self, drawing, desk: Desk) -> list:
        """The pad's drawing read by the student's network and by the shipped ones (views.follow)."""
        try:
            self.look_at(desk, drawing)
        except ValueError as error:  # a picture that is no picture: said, not raised
            return [None, f"⚠️ This drawing could not be read: {error}"]
        return [reading(desk.run, desk.image28), comparison_markdown(desk, self.titles)]

    def everything(self, desk: Desk, status: str) -> list:
        loss, accuracy = curves(desk.run)
        return [status, loss, accuracy, reading(desk.run, desk.image28), comparison_markdown(desk, self.titles),
                weights_html(desk.run), per_digit_markdown(desk.run)]

    async def start(self, drawing, desk: Desk, hidden, learning_rate, batch_size, seconds):
        """Start (or go on training) the session's network; an update about twice a second."""
        # What takes milliseconds (reading the drawing, making the pictures) goes to a worker thread,
        # as a plain handler's would: this coroutine runs on the server's event loop, the class's too.
        try:
            settings = Settings.checked(hidden, learning_rate, batch_size, seconds)
            await anyio.to_thread.run_sync(self.look_at, desk, drawing)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        if desk.training:  # a second Start sent while one runs (the page itself sends none)
            yield [gr.skip()] * len(self.training_outputs)
            return
        desk.training = True
        run = desk.network_for(settings.hidden)
        run.stopping.clear()
        try:
            async for news in queued(run, settings):
                if desk.run is not run:  # reset meanwhile: the reset's page stays
                    return
                if isinstance(news, int):
                    yield [f"⏳ **Waiting for another training to finish** ({news} ahead of yours). "
                           "It starts by itself; Stop cancels it.", *[gr.skip()] * (len(self.training_outputs) - 1)]
                else:
                    yield await anyio.to_thread.run_sync(self.everything, desk, status_line(run, settings, "🏋️ Training:"))
        except FileNotFoundError as error:  # the shipped digits are missing
            raise gr.Error(str(error), print_exception=False) from None
        finally:
            desk.training = False
        if desk.run is not run:
            return
        if not run.curve:
            yield self.everything(desk, "⏸ Stopped before it started. " + HINT)
        else:
            verb = "⏸ Stopped after" if run.stopping.is_set() else "✅ Trained for"
            yield await anyio.to_thread.run_sync(self.everything, desk, status_line(run, settings, verb) +
                                                 ".  \n**Start** trains it on; **Reset** starts again from random weights.")

    def reset(self, desk: Desk) -> list:
        if desk.run is not None:
            desk.run.stop()
        desk.run = None
        return self.everything(desk, HINT)


def stop(desk: Desk) -> None:
    if desk.run is not None:
        desk.run.stop()


async def learn_api(hidden: int = Settings.hidden, learning_rate: float = Settings.learning_rate,
                    batch_size: int = Settings.batch_size, seconds: float = 10.0) -> dict:
    """Train a new numpy two-layer network from nothing on the shipped MNIST digits, in its turn
    (one training at a time on this server); its final figures:
    {"steps": ..., "seconds": ..., "test_accuracy": ..., "curve": [[seconds, step, loss, test_accuracy], ...]}.

    hidden: 10-800 hidden units; learning_rate: Adam's; batch_size: 1-1024; seconds: training time, 1-120.
    test_accuracy is on a fixed 1,000 MNIST test digits.
    """
    try:
        settings = Settings.checked(hidden, learning_rate, batch_size, seconds)
        return await learn(settings, QUEUE)
    except (ValueError, FileNotFoundError) as error:
        raise gr.Error(str(error), print_exception=False) from None


def build_api() -> None:
    """/learn for scripts: no UI of its own."""
    gr.api(learn_api, api_name="learn", concurrency_limit=None)
