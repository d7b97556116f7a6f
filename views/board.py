"""The class board, for the projector: how well the network reads this class's handwriting.

It refreshes itself every few seconds with gr.Timer: drawings and students so far, accuracy
overall and per digit, the confusion matrix, and the latest misreads. Under it, the teacher's
controls (each checks the key itself: see classroom/teacher.py): teach it our handwriting
(training/finetune.py), back to the original network, export the class set, wipe it.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from classroom import store, teacher
from model import live
from training import finetune
from views.pictures import img

REFRESH_SECONDS = 3  # a projector that lags a labelled drawing by a few seconds still feels live
THUMBNAIL = 84  # px: a misread drawing, large enough to read from the back of a room
# One export at a time is kept: each new one replaces the last (Gradio serves its own copy).
EXPORTS = Path(tempfile.gettempdir()) / "digit-class-exports"
CSS = """
#board-figures { font-size: 1.4rem; }
#misreads { display: flex; flex-wrap: wrap; gap: 10px; padding-top: 24px; }
#misreads figure { margin: 0; text-align: center; }
#misreads img { border: 1px solid #aaa; background: #fff; }
"""

def confusion_picture(confusion: np.ndarray) -> str:
    """The confusion matrix as an inline PNG: rows what was meant, columns what the network said."""
    # matplotlib's object API, not pyplot: pyplot keeps global state that threads would share.
    figure = Figure(figsize=(5, 4.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(confusion, cmap="Blues")
    for meant in range(10):
        for read in range(10):
            if confusion[meant, read]:
                dark = confusion[meant, read] > confusion.max() / 2
                axes.text(read, meant, str(confusion[meant, read]), ha="center", va="center", fontsize=9,
                          color="white" if dark else ("#b00" if meant != read else "black"))
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("the network said")
    axes.set_ylabel("the student meant")
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return img(np.asarray(Image.open(png).convert("RGB")), "confusion matrix", 500)


def figures_markdown(stats: dict, network) -> str:
    accuracy = "–" if stats["accuracy"] is None else f"{stats['accuracy']:.0%}"
    lines = [f"**{stats['drawings']}** drawing{'s' * (stats['drawings'] != 1)} from **{stats['students']}** "
             f"student{'s' * (stats['students'] != 1)} · "
             f"the network reads **{accuracy}** of them right",
             f"Network: {network.name.upper()} ({network.version})"]
    # training/finetune.py keeps its figures in the fine-tuned network's metadata: they survive a restart.
    last_lesson = network.metadata.get("finetuned")
    if last_lesson:
        lines.append(f"Last lesson: on {last_lesson['held_out']} drawings kept out of the training, "
                     f"{last_lesson['held_out_before']:.0%} → **{last_lesson['held_out_after']:.0%}** right; "
                     f"MNIST test {last_lesson['mnist_after']:.2%}; {last_lesson['seconds']:.0f} s")
    return "\n\n".join(lines)


def per_digit_table(stats: dict) -> str:
    cells = []
    for digit in map(str, range(10)):
        accuracy = stats["per_digit"][digit]
        shown = "–" if accuracy is None else f"{accuracy:.0%}"
        cells.append((digit, shown, stats["per_digit_count"][digit]))
    return ("| digit | " + " | ".join(d for d, _, _ in cells) + " |\n|---|" + "---|" * 10 + "\n"
            "| read right | " + " | ".join(a for _, a, _ in cells) + " |\n"
            "| drawings | " + " | ".join(str(n) for _, _, n in cells) + " |")


def misreads_html(stats: dict) -> str:
    if not stats["misreads"]:
        return '<p style="padding-top: 24px">No misreads yet.</p>'
    drawings = {row.id: row for row in store.shared().rows(ids=[m["id"] for m in stats["misreads"]])}
    figures = []
    for misread in stats["misreads"]:
        row = drawings.get(misread["id"])
        if row is None:  # wiped between the two reads
            continue
        picture = Image.open(io.BytesIO(row.png)).convert("RGB")
        picture.thumbnail((THUMBNAIL, THUMBNAIL))
        caption = f"meant {misread['meant']}, read {misread['read']}"
        figures.append(f"<figure>{img(np.asarray(picture), caption, picture.width)}<figcaption>{caption}</figcaption></figure>")
    return f'<div id="misreads">{"".join(figures)}</div>'


def class_stats() -> dict:
    """The board's figures as JSON: drawings, students, accuracy overall and per digit,
    the confusion matrix (rows: meant, columns: read), the latest misreads, the live network."""
    network = live.current()
    return {**store.shared().stats(), "network": network.name, "version": network.version,
            "last_lesson": network.metadata.get("finetuned")}


def refresh(shown: tuple | None):
    """The board's outputs, or no update at all when nothing changed since the last tick."""
    network = live.current()
    stats = store.shared().stats()
    now = (stats["drawings"], stats["last_id"], network.version)
    if list(now) == (list(shown) if shown else None):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return (now, figures_markdown(stats, network), per_digit_table(stats),
            confusion_picture(np.array(stats["confusion"])), misreads_html(stats))


# --- the teacher's controls: each one checks the key itself -----------------------------------------


def teach_it(key: str, progress, trainer=None) -> dict:
    """/finetune(key): fine-tune the live CNN on the class's drawings; held-out accuracy before and after.
    `trainer`: the training step to use (app.py passes the one that runs on a ZeroGPU Space's GPU)."""
    teacher.require(key)
    try:
        result = finetune.teach(store.shared().rows(), progress=progress, trainer=trainer)
    except (ValueError, live.LiveBusy) as error:
        raise gr.Error(str(error), print_exception=False) from None
    if not result.get("swapped", True):  # it forgot too much MNIST: the old network stays live
        gr.Warning(result.get("note", "The fine-tuned network was not swapped in."))
    return result


def back_to_the_original(key: str) -> dict:
    """/revert(key): serve the shipped network again, for everyone."""
    teacher.require(key)
    try:
        network = live.revert()
    except live.LiveBusy as error:
        raise gr.Error(str(error), print_exception=False) from None
    return {"network": network.name, "version": network.version}


def export_class(key: str) -> str:
    """/export(key): the class set as a zip (drawings/<digit>/<id>.png, inputs28/..., labels.csv)."""
    teacher.require(key)
    EXPORTS.mkdir(parents=True, exist_ok=True)
    for old in EXPORTS.glob("*.zip"):
        old.unlink(missing_ok=True)
    return str(store.shared().export_zip(EXPORTS / time.strftime("class-digits-%Y%m%d-%H%M%S.zip", time.gmtime())))


def wipe_class(key: str) -> dict:
    """/reset_class(key): delete every drawing of this class."""
    teacher.require(key)
    return {"deleted": store.shared().reset()}


def build(trainer=None) -> gr.Timer:
    """The board's page: call inside `with demo.route("Class board", "/board"):`.
    `trainer`: training.finetune's training step to use instead of its own (see teach_it)."""

    def teach_with(key: str, progress=gr.Progress()) -> dict:
        return teach_it(key, progress, trainer)

    gr.Markdown("# Class board\nHow well does the network read **our** handwriting?")
    shown = gr.State(None)
    figures = gr.Markdown(elem_id="board-figures")
    per_digit = gr.Markdown(elem_id="per-digit")
    with gr.Row():
        confusion = gr.HTML(label="Confusion matrix", show_label=True, container=True, elem_id="confusion")
        misreads = gr.HTML(label="Misreads: the latest drawings it got wrong", show_label=True, container=True,
                           elem_id="misreads-block")
    timer = gr.Timer(REFRESH_SECONDS)
    outputs = [shown, figures, per_digit, confusion, misreads]
    timer.tick(refresh, shown, outputs, show_progress="hidden", api_visibility="private")

    with gr.Accordion("Teacher", open=False, elem_id="teacher"):
        key = gr.Textbox(label="Teacher key", type="password", elem_id="teacher-key",
                         info="printed in the console where the app was started, or the TEACHER_KEY secret")
        with gr.Row():
            teach = gr.Button("🧠 Teach it our handwriting", variant="primary", elem_id="teach")
            revert = gr.Button("↩️ Back to the original", elem_id="revert")
            export = gr.Button("⬇️ Export the class set", elem_id="export")
            wipe = gr.Button("🗑️ Wipe the class", variant="stop", elem_id="wipe")
        result = gr.JSON(label="Result", elem_id="teacher-result")
        exported = gr.File(label="Class set (zip)", elem_id="exported")
    # Named endpoints, for the teacher's scripts too; each answers in a single output.
    for button, handler, output, api_name in [(teach, teach_with, result, "finetune"),
                                               (revert, back_to_the_original, result, "revert"),
                                               (export, export_class, exported, "export"),
                                               (wipe, wipe_class, result, "reset_class")]:
        button.click(handler, key, output, api_name=api_name, concurrency_id="teacher").then(
            lambda: refresh(None), None, outputs, show_progress="hidden", api_visibility="private")
    gr.api(class_stats, api_name="class_stats")
    return timer
