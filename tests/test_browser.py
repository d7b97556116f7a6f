"""The app in a real Chromium: digits drawn with the mouse and a finger, Clear, examples, the wheel.

WebGL runs in software (SwiftShader), so every pointer move and every canvas export is slow;
the helpers wait for the app's answers rather than for fixed times.
"""

import pytest

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from tests.browser_helpers import CHROMIUM, chromium, clear, draw, image_rect, open_app, serving, top_digit  # isort: skip
import app
from example_digits import STROKES
from model.canvas import CANVAS_SIZE
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")

# (digit, height, centre) in canvas px: large and central, small in a corner, mid-size off-centre
DRAWINGS = [(3, 230, (160, 160)), (7, 110, (75, 80)), (4, 150, (215, 205))]


@pytest.fixture(scope="module")
def served():
    with serving(app.demo) as url, chromium() as browser:
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
        if digit == DRAWINGS[-1][0]:
            page.screenshot(path=ROOT / "assets" / "screenshot.png")
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
