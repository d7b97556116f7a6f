"""The app in a real Chromium: digits drawn with the mouse and a finger, Clear, examples, the wheel,
the Compare and Inside views of one drawing, and teacher links.

WebGL runs in software (SwiftShader), so every pointer move and every canvas export is slow;
the helpers wait for the app's answers rather than for fixed times.
"""

import numpy as np
import pytest

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from bench.browser import CHROMIUM, chromium, clear, draw, image_rect, open_app, serving, top_digit  # isort: skip
import app
from model.examples import STROKES
from model.canvas import CANVAS_SIZE, CANVAS_WIDTH
from model.paths import ROOT, SHARED_STROKES
from training.numbers import by_writer, write_number
from training.strokes import measuring_digits

pytestmark = [pytest.mark.slow,  # Chromium
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")]

# (digit, height, centre) in canvas px: large and central, small in a corner, mid-size off-centre
DRAWINGS = [(3, 230, (160, 160)), (7, 110, (75, 80)), (4, 150, (215, 205))]
HASH = [[[0.35, 0], [0.35, 1]], [[0.65, 0], [0.65, 1]], [[0.2, 0.3], [0.8, 0.3]], [[0.2, 0.7], [0.8, 0.7]]]  # "#", narrow: no digit


@pytest.fixture(scope="module")
def served():
    with serving(app.demo, **app.LAUNCH_OPTIONS) as url, chromium() as browser:
        yield browser, url


@pytest.fixture(scope="module")
def desktop(served):
    page, traffic = open_app(*served)
    yield page, traffic
    page.context.close()


def preview_source(page) -> str | None:
    image = page.locator("#network-input img")
    return image.get_attribute("src") if image.count() else None


def assert_cleared(page) -> None:
    assert top_digit(page) is None
    assert page.locator('#top3 [aria-label="Empty value"]').count() == 1
    assert preview_source(page) is None
    assert "Draw a digit" in page.locator("body").inner_text()


def test_reads_digits_drawn_with_the_mouse_and_clear_resets(desktop):
    page, traffic = desktop
    assert_cleared(page)  # the page opens ready, with the hint
    for digit, height, centre in DRAWINGS:
        draw(page, traffic, STROKES[digit], height, centre, CANVAS_SIZE)
        assert top_digit(page) == str(digit)
        assert page.locator('#top3 button.confidence-set').count() == 3
        assert (preview_source(page) or "").startswith("data:image/png;base64,")
        assert page.locator("#network-input img").bounding_box()["width"] > 100  # shown enlarged
        clear(page, traffic)
        assert_cleared(page)


def test_not_sure_hides_the_big_digit_and_keeps_the_bars(desktop):
    page, traffic = desktop
    draw(page, traffic, HASH, 200, (160, 160), CANVAS_SIZE)
    assert "Not sure" in page.locator("#verdict").inner_text()
    assert top_digit(page) is None and page.locator("#top3 button.confidence-set").count() == 3
    clear(page, traffic)
    digit, height, centre = DRAWINGS[0]
    draw(page, traffic, STROKES[digit], height, centre, CANVAS_SIZE)
    assert top_digit(page) == str(digit)  # a sure reading shows it again
    clear(page, traffic)
    assert_cleared(page)


def test_an_example_loads_into_the_pad_and_is_read(desktop):
    page, traffic = desktop
    submitted = traffic.joins_sent
    page.locator("button.gallery-item").nth(2).click()
    traffic.wait(submitted)
    assert top_digit(page) == "2"
    assert preview_source(page)
    clear(page, traffic)
    assert_cleared(page)


def test_the_mouse_wheel_over_the_pad_scrolls_the_page_and_leaves_the_drawing_alone(served):
    page, _ = open_app(*served, viewport={"width": 1000, "height": 500})
    try:
        before = image_rect(page)
        zoom = page.locator("#pad").inner_text()
        page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
        page.mouse.wheel(0, 200)
        page.wait_for_function("() => window.scrollY > 0")
        after = image_rect(page)
        assert page.locator("#pad").inner_text() == zoom  # e.g. "Draw here\n88%": not zoomed
        assert after["width"] == before["width"] and after["x"] == before["x"]
        assert after["y"] == pytest.approx(before["y"] - page.evaluate("window.scrollY"))  # moved with the page only
    finally:
        page.context.close()


def test_draws_with_a_finger_on_a_phone(served):
    page, traffic = open_app(*served, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                             device_scale_factor=2)
    try:
        before = image_rect(page)
        draw(page, traffic, STROKES[7], 220, (160, 160), CANVAS_SIZE, finger=True)
        assert top_digit(page) == "7"
        assert page.evaluate("window.scrollY") == 0 and image_rect(page) == before  # neither page nor drawing moved
    finally:
        page.context.close()


# --- whole numbers -------------------------------------------------------------------------------

# Written by the measuring writers (21-30), in their own digits, as bench/numbers.py writes them.
NUMBERS = [("spaced", "2026"), ("close", "1975"), ("decimal", "3.14"), ("negative", "-17"),
           ("spaced", "480"), ("close", "365"), ("touching", "42"), ("single", "7")]


@pytest.fixture(scope="module")
def written_numbers():
    if not SHARED_STROKES.is_dir():
        pytest.skip(f"no pen strokes at {SHARED_STROKES} (../shared/data, see its README)")
    writers = by_writer(measuring_digits(SHARED_STROKES))
    names, rng = sorted(writers), np.random.default_rng(0)
    return [(text, write_number(text, writers[names[i % len(names)]], kind, rng)) for i, (kind, text) in enumerate(NUMBERS)]


def draw_number(page, traffic, written, finger: bool = False) -> None:
    """A written number's strokes, as large as the wide pad comfortably holds, in its middle."""
    strokes = [stroke for symbol in written.strokes for stroke in symbol]
    points = np.array([p for stroke in strokes for p in stroke])
    width, height = points.max(axis=0) - points.min(axis=0)
    scale = min(220 / max(height, 1), (CANVAS_WIDTH - 60) / max(width, 1))
    draw(page, traffic, strokes, height * scale, (CANVAS_WIDTH / 2, CANVAS_SIZE / 2), CANVAS_SIZE, finger=finger)


def test_numbers_drawn_on_the_pad_are_read_with_a_box_for_each_symbol(desktop, written_numbers):
    page, traffic = desktop
    shown = []
    for text, written in written_numbers:
        draw_number(page, traffic, written)
        shown.append(page.locator("#number").inner_text().strip())
        if len(text) > 1:
            assert page.locator("#symbols svg rect").count() == len(shown[-1])  # each symbol boxed
            assert not page.locator("#top3").is_visible()  # the number is the answer, not one digit's bars
        if text == "2026":
            page.screenshot(path=ROOT / "assets" / "screenshot_number.png")
        clear(page, traffic)
        assert page.locator("#number").inner_text().strip() == ""
    exact = sum(s == text for s, (text, _) in zip(shown, written_numbers))
    assert exact >= 7, list(zip(shown, [text for text, _ in written_numbers]))


def test_a_number_on_a_phone_is_read_with_the_answer_in_view(served, written_numbers):
    page, traffic = open_app(*served, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                             device_scale_factor=2)
    try:
        text, written = written_numbers[0]
        draw_number(page, traffic, written, finger=True)
        number = page.locator("#number")
        assert number.inner_text().strip() == text
        page.screenshot(path=ROOT / "assets" / "screenshot_phone_number.png")
        box = number.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844  # in view without scrolling
        assert page.evaluate("window.scrollY") == 0
    finally:
        page.context.close()


# --- the teaching views -------------------------------------------------------------------------


def open_view(page, traffic, title: str) -> None:
    """Click a view's tab and wait for the view to be computed for the drawing."""
    submitted = traffic.joins_sent
    page.get_by_role("tab", name=title).click()
    traffic.wait(submitted)


def first_bar(page, label: str) -> str:
    """The digit of a Label's top bar (its heading goes when the network is unsure; the bars stay)."""
    return page.locator(f"{label} button.confidence-set").first.get_attribute("data-testid").split("-")[0]


def sources(page, selector: str) -> list[str]:
    return [image.get_attribute("src") for image in page.locator(selector).all()]


def test_one_drawing_seen_from_every_view(desktop):
    page, traffic = desktop
    draw(page, traffic, STROKES[4], 110, (90, 230), CANVAS_SIZE)  # small, low left: the naive way misses it
    assert top_digit(page) == "4"
    page.screenshot(path=ROOT / "assets" / "screenshot.png")

    open_view(page, traffic, "Compare")
    readings = page.locator(".compare-bars")
    assert readings.count() == len(app.classifiers) >= 2
    for name in app.classifiers:
        assert first_bar(page, f"#compare-{name}") == "4", name
        assert page.locator(f"#compare-{name} button.confidence-set").count() == 3
    recipe = sources(page, "#compare-input img")
    page.screenshot(path=ROOT / "assets" / "screenshot_compare.png")
    submitted = traffic.joins_sent
    page.get_by_label("What most demos do: squeeze the whole canvas to 28×28").check()
    traffic.wait(submitted)
    squeezed = sources(page, "#compare-input img")
    assert len(recipe) == len(squeezed) == 1 and recipe != squeezed  # a different 28x28 picture
    assert any(first_bar(page, f"#compare-{name}") != "4" for name in app.classifiers)

    open_view(page, traffic, "Inside")
    assert page.locator("#way-in img.step").count() == 5
    assert page.locator("#why img.saliency").count() == 1
    assert page.locator("#layers img.layer").count() == 6  # the CNN: 5 convolution blocks and the output
    assert "Convolution block 1: 32 filters" in page.locator("#layers").inner_text()
    submitted = traffic.joins_sent
    page.locator("#why-digit").get_by_label("7", exact=True).check()  # "why not a 7?"
    traffic.wait(submitted)
    assert page.locator("#why img.saliency").count() == 2 and "Why (not) a 7?" in page.locator("#why").inner_text()
    page.screenshot(path=ROOT / "assets" / "screenshot_inside.png", full_page=True)
    open_view(page, traffic, "Fool it")  # the README's pictures of the lessons
    submitted = traffic.joins_sent
    page.locator("#fool-target").get_by_label("9", exact=True).check()
    traffic.wait(submitted)
    assert page.locator("#fool-pictures img").count() >= 3  # the drawing, the change, the fooled picture
    page.screenshot(path=ROOT / "assets" / "screenshot_fool.png", full_page=True)
    open_view(page, traffic, "Learn")
    page.screenshot(path=ROOT / "assets" / "screenshot_learn.png")

    page.get_by_role("tab", name="Draw").click()  # nothing to compute: the bars are already there
    assert top_digit(page) == "4"
    clear(page, traffic)
    assert_cleared(page)


def test_a_teacher_link_opens_its_view_and_network(served):
    browser, url = served
    page, traffic = open_app(browser, url + "?view=inside&net=mlp")
    try:
        page.locator("#inside-net").get_by_label("MLP", exact=True).wait_for()
        page.wait_for_function("() => document.querySelector('#inside-net input[value=\"mlp\"]')?.checked")
        assert page.get_by_role("tab", name="Inside").get_attribute("aria-selected") == "true"
        assert page.locator("#way-in").is_visible() and not page.locator("#top3").is_visible()
        draw(page, traffic, STROKES[7], 200, (160, 160), CANVAS_SIZE)  # the open view follows the drawing
        page.locator("#layers img.layer").nth(2).wait_for()
        assert page.locator("#layers img.layer").count() == 3  # the MLP: two hidden layers and the output
    finally:
        page.context.close()
