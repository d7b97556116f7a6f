"""How fast the app answers, in three figures:

  server    one Sketchpad value through Gradio's own processing: the three PNGs the browser
            uploads are decoded, the drawing is read and the outputs are made (bars, verdict,
            enlarged preview); p50 / p95 over many runs. Floor: p50 <= 10 ms.
  browser   Chromium: mouse-up to the bars updating, for this app and for a bare
            gr.Sketchpad -> gr.Label app of the same canvas size (same network), strokes
            alternating between the two in one run. Floor: this app adds <= 10 % to the median.
  clients   `python app.py` in its own process, 20 gradio_client clients sending drawn digits
            to /predict at the same time: latency percentiles and throughput.

    python -m bench.app_latency                     # all three
    python -m bench.app_latency --only server       # or browser, clients
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.components.image_editor import AcceptBlobs
from gradio.state_holder import SessionState
from gradio_client import Client, handle_file
from PIL import Image

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from bench.browser import CHROMIUM, chromium, clear, draw, free_port, open_app, serving, wait_until_serving  # isort: skip
import app
from model.examples import STROKES, example_paths
from model.canvas import BRUSH_RADIUS, CANVAS_SIZE, PAD_SIZE, draw_strokes, sketchpad_value

ROOT = Path(__file__).resolve().parent.parent
SINGLE_STROKE_DIGITS = (1, 2, 3, 7)

# Time from the last pointer-up to the first change of the bars (the Label's heading and meters).
STROKE_CLOCK_JS = """
() => {
  const clock = window.__strokeClock = {up: null, answered: null};
  document.addEventListener('pointerup', () => { clock.up = performance.now(); clock.answered = null; }, true);
  const label = document.querySelector('#top3');
  const bars = () => [...label.querySelectorAll('h2, meter')].map((e) => e.textContent + (e.value ?? '')).join('|');
  let shown = bars();
  new MutationObserver(() => {
    const now = bars();
    if (now !== shown && clock.up !== null && clock.answered === null) clock.answered = performance.now();
    shown = now;
  }).observe(label, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""


def percentiles(seconds, *qs) -> str:
    ms = np.asarray(seconds) * 1000
    return "  ".join(f"p{q} {np.percentile(ms, q):7.1f} ms" for q in qs)


def server(runs: int) -> None:
    drawing = sketchpad_value(draw_strokes(STROKES[4], 210, (150, 170), PAD_SIZE))
    pngs = {}  # after each stroke the browser posts PNGs of exactly these to the pad
    for part, pixels in (("background", drawing["background"]), ("layer", drawing["layers"][0]),
                         ("composite", drawing["composite"])):
        png = io.BytesIO()
        Image.fromarray(pixels).save(png, format="png")
        pngs[part] = png.getvalue()
    pad = next(block for block in app.demo.blocks.values() if getattr(block, "elem_id", None) == "pad")
    handler = next(fn for fn in app.demo.fns.values() if fn.fn == app.draw.on_strokes and "change" in str(fn.targets))
    state = SessionState(app.demo)
    bars = handler.outputs.index(app.draw.top3)  # the number comes first; the bars after it

    async def handle_once() -> float:
        drawing_id = uuid.uuid4().hex  # posted as /gradio_api/component_server/ accept_blobs, then the event
        for part, png in pngs.items():
            blob = {"type": part, "index": 0 if part == "layer" else None, "id": drawing_id, "file": png}
            pad.accept_blobs(AcceptBlobs(data=blob, files=[(f"{part}.png", png)]))
        start = time.perf_counter()
        # a batch of one: one list per input in, one list per output out
        output = await app.demo.process_api(block_fn=handler, inputs=[[{"id": drawing_id}]], state=state)
        elapsed = time.perf_counter() - start
        if output["data"][bars][0]["label"] != "4":
            raise SystemExit(f"the drawn 4 was read as {output['data'][bars][0]}")
        return elapsed

    async def handle_all() -> list[float]:
        return [await handle_once() for _ in range(runs)]

    asyncio.run(handle_all())  # warm-up: imports, caches
    timings = asyncio.run(handle_all())
    callback = []  # the callback alone, on the value as Gradio hands it over
    for _ in range(runs):
        start = time.perf_counter()
        app.draw.read(drawing)
        callback.append(time.perf_counter() - start)
    p50 = float(np.median(timings) * 1000)
    print(f"server, one {drawing['composite'].shape[1]}x{drawing['composite'].shape[0]} Sketchpad value, {runs} runs:")
    print(f"  whole handling (decode 3 PNGs, read, make outputs)  {percentiles(timings, 50, 95)}")
    print(f"  of which the callback (28x28, network, preview)     {percentiles(callback, 50, 95)}")
    print(f"  floor p50 <= 10 ms: {'PASS' if p50 <= 10 else 'FAIL'} ({p50:.1f} ms)\n")


def bare_app():
    """The least an app can do with the same pad: Sketchpad -> Label, with the same network."""
    with gr.Blocks() as bare:
        pad = gr.Sketchpad(canvas_size=PAD_SIZE, elem_id="pad",
                           brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"))
        label = gr.Label(num_top_classes=3, elem_id="top3")
        pad.change(lambda drawing: app.live_classifier().predict(drawing).confidences(3), pad, label)
        # without a selected brush nothing can be drawn at all
        pad.clear(None, None, None, js=app.AUTO_BRUSH_JS)
        bare.load(None, None, None, js=app.AUTO_BRUSH_JS)
    return bare


def browser(strokes: int) -> None:
    if not CHROMIUM.exists():
        print(f"browser: skipped, no Chromium at {CHROMIUM}\n")
        return
    latencies = {"this app": [], "bare Gradio": []}
    with serving(app.demo, **app.LAUNCH_OPTIONS) as ours, serving(bare_app()) as bare, chromium() as chrome:
        pages = {name: open_app(chrome, url) for name, url in (("this app", ours), ("bare Gradio", bare))}
        for page, _ in pages.values():
            page.evaluate(STROKE_CLOCK_JS)
        for i in range(strokes * 2):
            name = ("this app", "bare Gradio")[i % 2]
            page, traffic = pages[name]
            digit = SINGLE_STROKE_DIGITS[(i // 2) % len(SINGLE_STROKE_DIGITS)]
            clear(page, traffic)
            draw(page, traffic, STROKES[digit], 200, (160, 160), CANVAS_SIZE)
            clock = page.evaluate("window.__strokeClock")
            if clock["answered"] is None:
                raise SystemExit(f"{name}: the bars did not change after a drawn {digit}")
            latencies[name].append((clock["answered"] - clock["up"]) / 1000)
    print(f"browser, Chromium (software WebGL), mouse-up to bars updated, {PAD_SIZE[0]}x{PAD_SIZE[1]} canvas, "
          f"{strokes} strokes each, alternating:")
    for name, seconds in latencies.items():
        print(f"  {name:<12} {percentiles(seconds, 50, 90)}  (n={len(seconds)})")
    ratio = np.median(latencies["this app"]) / np.median(latencies["bare Gradio"])
    print(f"  this app / bare Gradio, medians: {ratio:.3f}; floor <= 1.10: {'PASS' if ratio <= 1.10 else 'FAIL'}\n")


def clients(count: int, requests_each: int) -> None:
    port = free_port()
    environment = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_serving(process, url, timeout=120)
        except RuntimeError as error:
            raise SystemExit(f"python app.py did not come up: {error}") from None
        files = example_paths()  # files[digit] shows that digit
        timings, errors, lock = [], [], threading.Lock()

        def one_client(index: int) -> None:
            client = Client(url, verbose=False)
            for i in range(requests_each):
                digit = (index + i) % 10
                start = time.perf_counter()
                try:
                    answer = client.predict(handle_file(files[digit]), api_name="/predict")
                    ok = answer["top3"][0]["digit"] == digit
                except Exception as error:  # counted and shown, not raised: this is a measurement
                    answer, ok = repr(error), False
                with lock:
                    timings.append(time.perf_counter() - start)
                    if not ok:
                        errors.append(answer)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(one_client, range(count)))
        wall = time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"clients, {count} gradio_client clients x {requests_each} requests to /predict (python app.py, own process):")
    print(f"  {percentiles(timings, 50, 90, 99)}  max {max(timings) * 1000:.0f} ms")
    print(f"  {len(timings) / wall:.1f} requests/s, {len(errors)} errors" + (f": {errors[:3]}" if errors else "") + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["server", "browser", "clients"], help="run one of the three")
    parser.add_argument("--runs", type=int, default=300, help="server: handlings to time (default: 300)")
    parser.add_argument("--strokes", type=int, default=10, help="browser: strokes per app (default: 10)")
    parser.add_argument("--clients", type=int, default=20, help="clients: how many at once (default: 20)")
    parser.add_argument("--requests", type=int, default=10, help="clients: requests each (default: 10)")
    args = parser.parse_args(argv)
    if args.only in (None, "server"):
        server(args.runs)
    if args.only in (None, "browser"):
        browser(args.strokes)
    if args.only in (None, "clients"):
        clients(args.clients, args.requests)


if __name__ == "__main__":
    main()
