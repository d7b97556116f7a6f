"""The class board, for the projector: how well the network reads this class's handwriting.

It refreshes itself every few seconds with gr.Timer: drawings and students so far, accuracy
overall and per digit, the confusion matrix, and the latest misreads. A click on a cell of the
matrix ("meant 7, read 1"), on one of its digits, or on a digit's column of the per-digit table
shows the class's drawings behind it, newest first. Under it all, the teacher's
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
from PIL import Image

from classroom import store, teacher
from model import live
from training import finetune
from views.pictures import img

REFRESH_SECONDS = 3  # a projector that lags a labelled drawing by a few seconds still feels live
THUMBNAIL = 84  # px: a misread drawing, large enough to read from the back of a room
# One export at a time is kept: each new one replaces the last (Gradio serves its own copy).
EXPORTS = Path(tempfile.gettempdir()) / "digit-class-exports"
SHOWN = 60  # drawings shown for a click: a screenful; the heading says how many there are in all
DIGITS = set("0123456789")
HINT = "Click a number in the confusion matrix, one of its digits, or a digit's column in the table above to see the drawings behind it."
# The matrix and the per-digit table are gr.HTML whose buttons carry data-meant / data-read;
# one listener on the component (its content is replaced at every refresh, the element stays)
# sends the clicked button's digits as the event's data.
CELL_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-meant], button[data-read]');
  if (button) trigger('click', {meant: button.dataset.meant ?? null, read: button.dataset.read ?? null});
});
"""
CSS = """
#board-figures { font-size: 1.4rem; }
.drawings { display: flex; flex-wrap: wrap; gap: 10px; padding-top: 12px; }
#misreads { padding-top: 24px; }
#drawings-block h3, #drawings-block .hint { margin: 24px 0 0; }  /* below the block's label */
.drawings figure { margin: 0; text-align: center; }
.drawings img { border: 1px solid #aaa; background: #fff; }
#confusion table, #per-digit table { border-collapse: collapse; margin: 0; }
#confusion th, #confusion td, #per-digit th, #per-digit td { padding: 0; border: 1px solid #ddd; text-align: center; }
#confusion td { width: 2.6rem; height: 2.6rem; }
#confusion th.corner { font-size: 0.75rem; font-weight: normal; padding: 0 6px; }
#confusion button, #per-digit button { width: 100%; height: 100%; min-height: 2.2rem; padding: 0 8px; border: 0;
  background: none; font: inherit; cursor: pointer; }
#confusion button:hover, #per-digit button:hover { outline: 2px solid #f90; outline-offset: -2px; }
#per-digit th { padding: 0 8px; text-align: left; }
"""

def shade(share: float) -> str:
    """A cell's colour for `share` of the fullest cell: white to matplotlib's "Blues" darkest."""
    paper, full = np.array([247, 251, 255]), np.array([8, 48, 107])
    red, green, blue = (paper + share * (full - paper)).round().astype(int)
    return f"rgb({red}, {green}, {blue})"


def confusion_table(confusion: np.ndarray) -> str:
    """The confusion matrix as a table of buttons: rows what was meant, columns what the network said.

    A cell opens the drawings behind it; a row's digit every drawing of that digit; a column's
    digit every drawing read as it (CELL_JS sends the click, open_drawings answers it).
    """
    peak = max(int(confusion.max()), 1)
    said = "".join(f'<th><button data-read="{d}" title="every drawing it read as {d}">{d}</button></th>' for d in range(10))
    rows = []
    for meant in range(10):
        cells = []
        for read in range(10):
            count = int(confusion[meant, read])
            if not count:
                cells.append("<td></td>")
                continue
            dark = count / peak > 0.5
            ink = "white" if dark else ("black" if meant == read else "#b00")
            cells.append(f'<td><button data-meant="{meant}" data-read="{read}" style="background: {shade(count / peak)}; '
                         f'color: {ink}" title="meant {meant}, read {read}: {plural(count, "drawing")}">{count}</button></td>')
        rows.append(f'<tr><th><button data-meant="{meant}" title="every drawing of a {meant}">{meant}</button></th>'
                    f'{"".join(cells)}</tr>')
    return ('<table class="confusion"><thead><tr><th class="corner">meant ↓ said →</th>' + said + '</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def figures_markdown(stats: dict, network) -> str:
    accuracy = "–" if stats["accuracy"] is None else f"{stats['accuracy']:.0%}"
    lines = [f"**{stats['drawings']}** drawing{'s' * (stats['drawings'] != 1)} from **{stats['students']}** "
             f"student{'s' * (stats['students'] != 1)} · "
             f"the network reads **{accuracy}** of them right",
             f"Network: {network.name.upper()} ({network.version})"]
    if stats["numbers"]:
        lines.insert(1, f"Numbers: **{stats['numbers_read_exactly']}** of {stats['numbers']} read exactly")
    # training/finetune.py keeps its figures in the fine-tuned network's metadata: they survive a restart.
    last_lesson = network.metadata.get("finetuned")
    if last_lesson:
        lines.append(f"Last lesson: on {last_lesson['held_out']} drawings kept out of the training, "
                     f"{last_lesson['held_out_before']:.0%} → **{last_lesson['held_out_after']:.0%}** right; "
                     f"MNIST test {last_lesson['mnist_after']:.2%}; {last_lesson['seconds']:.0f} s"
                     # finetune.guarded stepped back towards the network it had, to keep MNIST
                     + (f"; {last_lesson['blend']:.0%} of the way to the fine-tuned network"
                        if last_lesson.get("blend", 1) < 1 else ""))
    return "\n\n".join(lines)


def per_digit_table(stats: dict) -> str:
    """Accuracy and count per digit, one column per digit; a column opens every drawing of its digit."""
    rows = {"digit": [], "read right": [], "drawings": []}
    for digit in map(str, range(10)):
        accuracy = stats["per_digit"][digit]
        shown = {"digit": digit, "read right": "–" if accuracy is None else f"{accuracy:.0%}",
                 "drawings": stats["per_digit_count"][digit]}
        for name, value in shown.items():
            rows[name].append(f'<td><button data-meant="{digit}" title="every drawing of a {digit}">{value}</button></td>')
    return ('<table class="per-digit">'
            + "".join(f'<tr><th>{name}</th>{"".join(cells)}</tr>' for name, cells in rows.items()) + "</table>")


def figure(row: store.Row) -> str:
    """One drawing as the class drew it, small, captioned with what was meant and what was read."""
    picture = Image.open(io.BytesIO(row.png)).convert("RGB")
    picture.thumbnail((THUMBNAIL, THUMBNAIL))
    caption = f"meant {row.digit}, " + ("not read" if row.read_as is None else f"read {row.read_as}")
    return (f'<figure data-id="{row.id}">{img(np.asarray(picture), caption, picture.width)}'
            f"<figcaption>{caption}</figcaption></figure>")


def misreads_html(stats: dict) -> str:
    if not stats["misreads"]:
        return '<p style="padding-top: 24px">No misreads yet.</p>'
    drawings = {row.id: row for row in store.shared().rows(ids=[m["id"] for m in stats["misreads"]])}
    # a misread wiped between the two reads is left out
    figures = [figure(drawings[m["id"]]) for m in stats["misreads"] if m["id"] in drawings]
    return f'<div id="misreads" class="drawings">{"".join(figures)}</div>'


def chosen(data) -> dict:
    """{"meant": digit or None, "read": digit or None} from a click's event data (strings, from the
    buttons' data- attributes). Anyone can send any event data, so it is checked, never trusted."""
    data = data if isinstance(data, dict) else {}
    selection = {}
    for key in ("meant", "read"):
        value = data.get(key)
        if value is None or value == "":
            selection[key] = None
        elif str(value).strip() in DIGITS:
            selection[key] = int(str(value).strip())
        else:
            raise gr.Error(f"{key} must be a digit from 0 to 9, not {value!r}.", print_exception=False)
    return selection


def title(selection: dict) -> str:
    meant, read = selection["meant"], selection["read"]
    if meant is not None and read is not None:
        return f"Meant {meant}, read {read}"
    if meant is not None:
        return f"Every {meant}"
    return "Every drawing" if read is None else f"Every drawing read as {read}"


def drawings_html(selection: dict | None) -> str:
    """The drawings behind a clicked cell, row, column or digit, newest first."""
    if selection is None:
        return f'<p class="hint">{HINT}</p>'
    total, rows = store.shared().drawings_of(selection["meant"], selection["read"], newest=SHOWN)
    shown = f", the newest {len(rows)} shown" if total > len(rows) else ""
    head = f'<h3>{title(selection)}: {plural(total, "drawing")}{shown}, newest first</h3>'
    return f'{head}<div class="drawings">{"".join(figure(row) for row in rows)}</div>'


def open_drawings(evt: gr.EventData):
    """A click on the matrix or the per-digit table: remember what was clicked, show its drawings.
    No key: the drawings are the ones the board already shows the room (no session ids)."""
    selection = chosen(evt._data)  # the click's {"meant", "read"}, sent by CELL_JS
    return selection, drawings_html(selection)


def class_stats() -> dict:
    """The board's figures as JSON: drawings, students, accuracy overall and per digit,
    the confusion matrix (rows: meant, columns: read), the latest misreads, the live network."""
    network = live.current()
    return {**store.shared().stats(), "network": network.name, "version": network.version,
            "last_lesson": network.metadata.get("finetuned")}


def refresh(shown: tuple | None, selection: dict | None):
    """The board's outputs, or no update at all when nothing changed since the last tick.
    The drawings opened from the matrix are read again too, so that they stay what its cell counts."""
    network = live.current()
    stats = store.shared().stats()
    now = (stats["drawings"], stats["last_id"], network.version, stats["numbers"])
    if list(now) == (list(shown) if shown else None):
        return (gr.skip(),) * 6
    return (now, figures_markdown(stats, network), per_digit_table(stats),
            confusion_table(np.array(stats["confusion"])), misreads_html(stats), drawings_html(selection))


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
    selection = gr.State(None)  # what was clicked in the matrix: {"meant", "read"}
    figures = gr.Markdown(elem_id="board-figures")
    per_digit = gr.HTML(elem_id="per-digit", js_on_load=CELL_JS)
    with gr.Row():
        confusion = gr.HTML(label="Confusion matrix: click a number to see its drawings", show_label=True,
                            container=True, elem_id="confusion", js_on_load=CELL_JS)
        misreads = gr.HTML(label="Misreads: the latest drawings it got wrong", show_label=True, container=True,
                           elem_id="misreads-block")
    drawings = gr.HTML(f'<p class="hint">{HINT}</p>', label="The drawings behind a click", show_label=True,
                       container=True, elem_id="drawings-block")
    timer = gr.Timer(REFRESH_SECONDS)
    outputs = [shown, figures, per_digit, confusion, misreads, drawings]
    timer.tick(refresh, [shown, selection], outputs, show_progress="hidden", api_visibility="private")
    for clickable in (confusion, per_digit):
        clickable.click(open_drawings, None, [selection, drawings], show_progress="hidden", api_visibility="private")

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
            lambda clicked: refresh(None, clicked), selection, outputs, show_progress="hidden", api_visibility="private")
    gr.api(class_stats, api_name="class_stats")
    return timer
