"""Serving a Gradio app on a free loopback port, and drawing on its Sketchpad in Chromium.

Shared by the benches that drive a browser (bench/app_latency.py, bench/views.py) and by the
tests that serve the app; here, so that no bench imports a test.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

# No usage reports to Gradio from tests and benchmarks: read when a gr.Blocks is built.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# A Gradio cache of this process's own, removed at exit: what a test finds there is then its
# own doing, even while other runs serve apps on the same machine (read when Gradio is imported).
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="gradio-cache-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOP_DIGIT = 'h2[data-testid="label-output-value"]'

# Pixi v8 hands every Application it creates to this global hook: the one way to learn where
# the drawing sits inside the <canvas>, which is larger than the drawing and not at its corner.
PIXI_HOOK = "globalThis.__PIXI_APP_INIT__ = (app) => { (globalThis.__pixiApps ||= []).push(app); };"
IMAGE_RECT_JS = """
(canvas) => {
  const app = (globalThis.__pixiApps || []).find((a) => a.canvas === canvas);
  const image = app && app.stage.children.find((c) => c.sortableChildren === true);
  if (!image) return null;
  const bounds = image.getBounds();
  const box = canvas.getBoundingClientRect();
  return {x: box.x + bounds.x, y: box.y + bounds.y, width: bounds.width, height: bounds.height};
}
"""
# A Clear fires .change with the empty pad once or twice (gradio-sketchpad.md), and the second
# can come after the first was answered: a stroke drawn in between races it. No new event for
# this long after a Clear: both have come.
CLEAR_QUIET = 0.75
NEXT_FRAME_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Counts Gradio's queue traffic inside the page (see Traffic): joins sent, answered and refused
# (the queue was full), and process_completed messages read from a clone of each SSE stream.
QUEUE_HOOK = """
(() => {
  const queue = globalThis.__queue = {sent: 0, answered: 0, refused: 0, completed: 0};
  const fetch = globalThis.fetch;
  async function count(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      const lines = (rest + value).split("\\n");
      rest = lines.pop();
      queue.completed += lines.filter((line) => line.startsWith("data:") && line.includes('"msg":"process_completed"')).length;
    }
  }
  globalThis.fetch = async function (input, init) {
    const url = String(input instanceof Request ? input.url : input);
    const join = url.includes("/gradio_api/queue/join");
    if (join) queue.sent++;
    let response;
    try {
      response = await fetch.apply(this, arguments);
    } catch (error) {
      if (join) { queue.answered++; queue.refused++; }
      throw error;
    }
    if (join) { queue.answered++; if (!response.ok) queue.refused++; }
    if (url.includes("/gradio_api/queue/data") && response.ok && response.body) count(response.clone().body).catch(() => {});
    return response;
  };
})();
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, url: str, timeout: float = 180) -> None:
    """Return once the app that `process` runs answers at `url`. Raises RuntimeError when the
    process exits first, or when it does not answer within `timeout` seconds (it is killed then)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}gradio_api/info", timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the app did not answer within {timeout:.0f} s") from None
            time.sleep(0.3)
    raise RuntimeError(f"the app exited with {process.returncode}")


@contextlib.contextmanager
def serving(demo, **launch_options):
    """Launch `demo` for real on a free loopback port for the duration of the block; yields its URL.

    For the app, pass app.LAUNCH_OPTIONS: it then serves with the limits `python app.py` has.
    """
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **launch_options)
    try:
        yield demo.local_url
    finally:
        demo.close()


@contextlib.contextmanager
def chromium():
    """The system Chromium, headless, with software WebGL (the Sketchpad needs WebGL)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_app(browser, url: str, **context_options):
    """A new page on `url`, its pad ready to draw on; returns (page, its queue Traffic)."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
    context.add_init_script(PIXI_HOOK)
    context.add_init_script(QUEUE_HOOK)
    page = context.new_page()
    page.set_default_timeout(60_000)
    traffic = Traffic(page)
    page.goto(url)
    wait_for_brush(page)
    image_rect(page)  # the Pixi image is laid out
    return page, traffic


class Traffic:
    """Gradio's queue traffic of one page, to know when every submitted event has been answered.

    An event is submitted with a POST to /gradio_api/queue/join, and its answer ends with a
    "process_completed" message on the SSE stream /gradio_api/queue/data. QUEUE_HOOK counts
    both inside the page, so an event is answered when its own message has arrived. Whether the
    stream is open says nothing: Gradio's client can open one just after its last event's
    answer came on the stream before, and that one stays open, idle, until the next event.
    """

    def __init__(self, page):
        self.page = page

    def counts(self) -> dict:
        return self.page.evaluate("() => ({...(globalThis.__queue || {sent: 0, answered: 0, refused: 0, completed: 0})})")

    @property
    def joins_sent(self) -> int:
        return self.counts()["sent"]

    @staticmethod
    def settled(counts: dict) -> bool:
        """Every join answered, and every event the queue took has its process_completed."""
        return counts["answered"] == counts["sent"] and counts["completed"] >= counts["sent"] - counts["refused"]

    def wait(self, submitted_after: int, timeout: float = 60, quiet: float = 0.0) -> None:
        """Wait until an event was submitted after `submitted_after` joins, and all are answered,
        and then no new one for `quiet` seconds (a Clear sends its empty .change once or twice)."""
        deadline = time.monotonic() + timeout
        settled_at, sent = None, None
        while True:
            counts = self.counts()
            if counts["sent"] > submitted_after and self.settled(counts):
                if counts["sent"] != sent:
                    settled_at, sent = time.monotonic(), counts["sent"]
                if time.monotonic() - settled_at >= quiet:
                    break
            else:
                settled_at = sent = None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not answer: {counts}")
            self.page.wait_for_timeout(25)
        self.page.evaluate(NEXT_FRAME_JS)  # the answer is in the DOM after the next frames


def wait_for_brush(page, pad: str = "#pad") -> None:
    """Wait until the Brush tool is active (the app selects it on load and after Clear)."""
    page.locator(f'{pad} button[aria-label="Brush"].highlight').wait_for()


def image_rect(page, pad: str = "#pad") -> dict:
    """The drawing's rectangle in viewport CSS px, read from Pixi."""
    canvas = page.locator(f"{pad} div.pixi-target > canvas")
    canvas.wait_for()
    deadline = time.monotonic() + 30
    while (rect := canvas.evaluate(IMAGE_RECT_JS)) is None or rect["width"] < 10:
        if time.monotonic() > deadline:
            raise TimeoutError("the Sketchpad's drawing area never appeared")
        page.wait_for_timeout(100)
    return rect


def place(strokes, height: float, centre: tuple[float, float], rect: dict, canvas_size: int):
    """Strokes in viewport px, scaled and centred on the canvas as model.canvas.draw_strokes does.

    `canvas_size` is the pad's height in canvas px (a wide pad is the same square, wider)."""
    zoom = rect["height"] / canvas_size
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    scale = height / max(max(ys) - min(ys), 1)
    middle_x, middle_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [[(rect["x"] + ((x - middle_x) * scale + centre[0]) * zoom,
              rect["y"] + ((y - middle_y) * scale + centre[1]) * zoom) for x, y in stroke] for stroke in strokes]


def draw(page, traffic: Traffic, strokes, height: float, centre: tuple[float, float], canvas_size: int,
         pad: str = "#pad", finger: bool = False) -> None:
    """Draw pen strokes with the mouse (or a finger) and wait until the app has answered.

    Each stroke waits for its own answer, so that no export of the canvas is still running
    when the next stroke ends: the last answer is then the one for the whole drawing.
    The brush joins successive pointer positions with straight lines, so the points of a
    stroke are all the pointer needs to visit.
    """
    for stroke in place(strokes, height, centre, image_rect(page, pad), canvas_size):
        submitted = traffic.joins_sent
        if finger:
            touch_stroke(page, stroke)
        else:
            page.mouse.move(*stroke[0])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(x, y)
            page.mouse.up()
        traffic.wait(submitted)


def touch_stroke(page, stroke) -> None:
    """One finger down on the first point, along the others, then up (Chromium's DevTools
    protocol: Playwright's own touchscreen only taps). The page needs has_touch=True."""
    session = page.context.new_cdp_session(page)
    try:
        for kind, points in [("touchStart", stroke[:1]), *[("touchMove", [p]) for p in stroke[1:]], ("touchEnd", [])]:
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})
    finally:
        session.detach()


def clear(page, traffic: Traffic, pad: str = "#pad") -> None:
    """Click the pad's Clear button and wait for the emptied outputs and the brush."""
    submitted = traffic.joins_sent
    page.locator(f'{pad} button[aria-label="Clear canvas"]').click()
    traffic.wait(submitted, quiet=CLEAR_QUIET)
    wait_for_brush(page, pad)


def top_digit(page, label: str = "#top3") -> str | None:
    """The Label's big heading, or None when it shows none (none there, or hidden by the page's CSS)."""
    heading = page.locator(f"{label} {TOP_DIGIT}")
    return heading.inner_text().strip() if heading.count() and heading.is_visible() else None
