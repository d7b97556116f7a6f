"""Draw a digit, watch small networks read it: the Gradio app. It composes the page; the ML is in model/.

One Sketchpad, drawn on once, and views of that drawing as tabs (each its own module in views/):
Draw (the bars after every stroke), Compare (every network, two ways in), Inside (the way in,
why this digit, what the layers see). Teacher links open a view: /?view=inside&net=mlp.

    python app.py              # http://127.0.0.1:7860, or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
    python app.py --share      # also a public *.gradio.live link
"""

from __future__ import annotations

import argparse
import os
import sys

# The numpy net's matrix products on one thread, as torch's below, set before numpy loads
# OpenBLAS: on a busy 2-core server, waking a second BLAS thread for each small product costs
# far more than the product (`python -m bench.views` shows it with OPENBLAS_NUM_THREADS=2).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Before torch: on a ZeroGPU Space, `spaces` must set up its CUDA emulation before anything
# touches CUDA. Its @spaces.GPU does nothing anywhere else (here, in CI, on a CPU Space), and
# without the package the app runs the same.
try:
    import spaces
except ImportError:
    spaces = None
import gradio as gr
import torch

from model.examples import example_paths
from model import Classifier, WeightsError, load_classifier
from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, PAD_SIZE
from model import live
from model.machine import keep_freed_memory_for_reuse
from training.finetune import finetune_weights
from model.paths import ASSETS, ROOT
from model.registry import DEFAULT, NETWORKS
from classroom import store, teacher
from views import after_reading, board, follow, fool, label, learn, links
from views.api import compare_file, endpoint, predict_file, read_file
from views.compare import CompareView
from views.draw import CSS as DRAW_CSS, DrawView
from views.inside import InsideView
from views.uploads import CACHE_AGE, MAX_UPLOAD, bounded_cache

# Process tuning, with the BLAS and torch thread counts: glibc keeps freed memory for reuse, so
# the temporary pictures of each drawing read are not page-faulted in again on every call.
keep_freed_memory_for_reuse()

# A class on one 2-vCPU server, settings measured by `python -m bench.class_scale` (README).
QUEUE_SIZE = 200  # events waiting, all students together
READERS_AT_ONCE = 1  # per event handler
BATCH = 16  # strokes read in one call of the pad's handler, from as many students
THREADS = 40  # gradio's worker threads: handlers and the Sketchpad's uploads
# How the server runs: `python app.py`, and the tests and benches that serve the app, launch with these.
# The upload limit and the cache's lifespan are views/uploads.py's.
LAUNCH_OPTIONS = {"max_file_size": MAX_UPLOAD, "app_kwargs": {"lifespan": bounded_cache}, "max_threads": THREADS,
                  "css": DRAW_CSS + label.CSS + board.CSS + """
@media (max-width: 600px) {
  /* A phone: the wide pad is shown at the screen's width, so a full-height block is mostly
     empty; a lower one and a smaller title keep the answer on screen under the pad. */
  #pad { height: 200px !important; }
  #intro h1 { font-size: 1.6rem !important; }
  #number, #number * { font-size: 2.2rem !important; }
}
"""}

REPORT_PLOTS = {  # train.py's plots: file name -> caption
    "cnn_curves.png": "Training curves",
    "cnn_confusion.png": "Confusion matrix (MNIST test set)",
    "cnn_misclassified.png": "Test digits it gets wrong",
}

# One drawing is a few hundred thousand multiply-adds: splitting it over threads only adds
# waiting, and on a busy 2-core server the second thread waits for a core
# (`python -m bench.inference --threads 1`, then `--threads 2`, with the other core busy).
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


def load_networks() -> tuple[dict[str, Classifier], dict[str, str]]:
    """Every registry network whose weights load, and for each of the others why not.

    A network whose weights were never trained here (no file) is left out quietly, except
    the default one: the page needs it, and says how to make it.
    """
    loaded, problems = {}, {}
    for name, spec in NETWORKS.items():
        if name != DEFAULT and not spec.weights.exists():
            continue
        try:
            loaded[name] = load_classifier(arch=name)
        except WeightsError as error:
            # Serve the page anyway and say what is wrong there: on a hosted Space the page is where
            # people look, and a crashed app shows only "Runtime error" with the reason in a log.
            print(f"error: {error}", file=sys.stderr)
            problems[name] = str(error)
    return loaded, problems


classifiers, problems = load_networks()


# The one job worth a GPU: fine-tuning the live network on the class's drawings (the board's
# "teach it"). On a ZeroGPU Space, spaces.GPU runs it on a GPU in a forked worker that gets its
# arguments and returns its result pickled: arrays and CPU tensors, which finetune_weights takes
# and gives. Off ZeroGPU, spaces.GPU returns the function itself and it runs here.
def finetune_on_gpu(*args, **kwargs) -> dict:
    return finetune_weights(*args, **kwargs)


if spaces is not None:
    # A fine-tune (training.finetune.STEPS steps of a 140k-parameter CNN) is seconds of GPU
    # work; a short duration gets the teacher a GPU sooner (spaces-zerogpu.md, "Duration Management").
    finetune_on_gpu = spaces.GPU(duration=30)(finetune_on_gpu)


def train_class_network(*args, progress=None, **kwargs) -> dict:
    """training.finetune.teach's trainer. A progress callback cannot be pickled into ZeroGPU's
    worker, so there the GPU's few seconds go without one; elsewhere it reports as usual."""
    if spaces is not None and spaces.config.Config.zero_gpu:
        return finetune_on_gpu(*args, **kwargs)
    return finetune_on_gpu(*args, progress=progress, **kwargs)
weights_problem = f"⚠️ **The model could not be loaded.** {problems[DEFAULT]}" if DEFAULT in problems else None


def live_classifier() -> Classifier | None:
    """The network the Draw view and /predict read with: the live one (model/live.py), which the
    class board's "teach it" swaps for everyone at once. None when the shipped weights do not load."""
    return live.classifier() if DEFAULT in classifiers else None


def about_the_model() -> str:
    classifier = live_classifier()
    if classifier is None:
        return weights_problem
    facts = classifier.metadata
    lines = [f"- **Network:** {classifier.spec.title}" + (f" with {facts['parameters']:,} parameters" if "parameters" in facts else "")]
    if "test_accuracy" in facts:
        lines.append(f"- **Accuracy on the MNIST test set:** {facts['test_accuracy']:.2%}")
    if "command" in facts:
        lines.append(f"- **Trained with:** `{facts['command']}`")
    lines.append(f"- **Says it is unsure** when no digit gets {classifier.spec.unsure_below:.0%} or more.")
    return "\n".join(lines)


# Files sent to the API would pile up in Gradio's cache: drop them once read (views/uploads.py).
with gr.Blocks(title="Draw a digit", delete_cache=(CACHE_AGE, CACHE_AGE)) as demo:
    gr.Markdown("# Draw a digit, or a whole number\nSmall neural networks trained on MNIST and people's pen strokes "
                "read your drawing after every stroke. Draw once, then look at it from every tab.", elem_id="intro")
    with gr.Row():
        # The pad's column is the wider, so that the wide pad shows at full size beside the views.
        with gr.Column(scale=4, min_width=320):
            # No CSS for touch: Pixi gives the canvas touch-action: none, so a finger draws
            # there instead of scrolling (tests/test_browser.py draws with one).
            pad = gr.Sketchpad(
                canvas_size=PAD_SIZE,
                brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
                layers=False,
                height=CANVAS_SIZE + 62,  # the toolbar and padding take 62 px: the pad then shows at 100 %
                label="Draw here: a digit, or a whole number",
                elem_id="pad",
            )
            say_what_you_meant = label.LabelView(pad)  # "right", or the digit meant: kept for the class board
        with gr.Column(scale=3, min_width=320):
            with gr.Tabs(selected=links.VIEWS[0], elem_id="views") as tabs:  # ids: links.VIEWS
                with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
                    draw = DrawView(pad, live_classifier, weights_problem)
                with gr.Tab("Compare", id="compare", elem_id="tab-compare") as compare_tab:
                    compare = CompareView(classifiers, {name: problem for name, problem in problems.items() if name != DEFAULT})
                with gr.Tab("Inside", id="inside", elem_id="tab-inside") as inside_tab:
                    inside = InsideView(classifiers)
                with gr.Tab("Learn", id="learn", elem_id="tab-learn") as learn_tab:
                    learning = learn.LearnView(classifiers)
                with gr.Tab("Fool it", id="fool", elem_id="tab-fool") as fool_tab:
                    fooling = fool.FoolView(classifiers)
                # More views: one `with gr.Tab(...)` here, its module in views/, and its id in links.VIEWS.
    # Below both columns, so that on a phone the answer comes straight after the pad.
    # Not cached (Spaces would cache by default): reading one takes milliseconds.
    examples = gr.Examples(example_paths(), inputs=pad, cache_examples=False, examples_per_page=10,
                           label="Examples: click one to load it into the pad")
    with gr.Accordion("About this model", open=False):
        gr.Markdown(about_the_model())
        plots = {ASSETS / name: caption for name, caption in REPORT_PLOTS.items() if (ASSETS / name).is_file()}
        with gr.Row():
            for path, caption in plots.items():
                gr.Image(str(path), label=caption, interactive=False, buttons=["fullscreen"])
        if not plots:
            gr.Markdown("The report plots are not in assets/: `python train.py` draws them.")

    # One event per stroke, batched across the class: the bars. Then, only where a teaching view
    # is open, that view follows in its own event. An example loaded into the pad does not fire
    # .change, so loading one reads too.
    teaching = {"compare": (compare, compare_tab), "inside": (inside, inside_tab), "learn": (learning, learn_tab),
                "fool": (fooling, fool_tab)}
    read = {"fn": draw.on_strokes, "inputs": pad, "outputs": draw.outputs, "batch": True, "max_batch_size": BATCH,
            "show_progress": "hidden", "api_visibility": "private"}
    readings = [pad.change(**read, trigger_mode="always_last"), examples.load_input_event.then(**read)]
    say_what_you_meant.follow(draw.verdict, readings)
    after_reading(readings, list(teaching))
    for name, (view, tab) in teaching.items():
        follow(view, tab, name, pad)
    pad.clear(None, None, None, js=AUTO_BRUSH_JS)
    demo.load(None, None, None, js=PAGE_LOAD_JS)
    demo.load(links.opened_with(list(classifiers)), None, [tabs, inside.network], api_visibility="private")

    # The scripting API: no UI of its own, only the named endpoints (/predict, /read, /compare, and each view's own).
    endpoint("predict", predict_file(live_classifier, weights_problem))
    endpoint("read", read_file(live_classifier, weights_problem))
    endpoint("compare", compare_file(classifiers))
    label.build_api()
    learning.wire(pad)
    learn.build_api()
    fool.build_api(classifiers)

# The projector's page, at /board: only a browser that opens it polls for the class's figures.
with demo.route("Class board", "board"):
    board.build(trainer=train_class_network)

# Explicit, because on a ZeroGPU Space gradio 6.31 otherwise keeps ONE waiting request and
# answers the rest "Queue is full" (tests/test_hosting.py sends a class at once). Each student has at most
# one reading waiting (trigger_mode="always_last"), so this is several classes' worth; beyond
# it a student is told to retry instead of waiting without end.
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=READERS_AT_ONCE)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument("--class-db", metavar="PATH", help="where the class's labelled drawings are kept (SQLite); "
                        f"default: ${store.ENV_PATH}, else {store.DEFAULT_PATH.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.class_db:
        store.use(args.class_db)
    teacher.announce()
    demo.launch(share=args.share, **LAUNCH_OPTIONS)
