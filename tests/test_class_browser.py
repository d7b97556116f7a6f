"""Class mode in a real Chromium: a student on a phone draws with a finger and says what they
meant; the board shows it; the teacher fine-tunes with the key and the network answers anew.

Screenshots of these steps go to assets/ for the README's "Using it in class".
"""

import contextlib
import re

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from bench.browser import CHROMIUM, CLEAR_QUIET, chromium, draw, free_port, open_app, top_digit  # isort: skip
import app
from classroom import store, teacher
from model.examples import STROKES
from model import live
from model.canvas import CANVAS_SIZE, draw_like_a_person
from model.paths import ROOT

pytestmark = [pytest.mark.slow,  # Chromium
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")]

KEY = "a-key-for-the-browser-test"
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app with its launch options (the phone CSS among them), a fresh class and live folder."""
    folder = tmp_path_factory.mktemp("class")
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stack:
        patch.setattr(store, "_shared", store.Store(folder / "class.sqlite3"))
        patch.setattr(live, "_default", live.Live(folder / "live"))
        patch.setattr(teacher, "KEY", KEY)
        app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                        **app.LAUNCH_OPTIONS)
        stack.callback(app.demo.close)
        browser = stack.enter_context(chromium())
        yield browser, app.demo.local_url


@pytest.fixture(scope="module")
def phone(served):
    page, traffic = open_app(*served, **PHONE)
    yield page, traffic
    page.context.close()


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def say(page, traffic, button: str, given: int) -> None:
    """Tap one of the buttons under the reading; wait for the counter, the cleared pad and the brush."""
    reading = page.locator("#label-reading")  # copied there in the browser, after the bars
    expect(reading, "the drawing was read as an empty pad").not_to_contain_text("Draw a digit", timeout=10_000)
    submitted = traffic.joins_sent
    page.locator(button).tap()
    try:
        page.locator("#label-counter").get_by_text(f"You gave {given} digit").wait_for()
    except PlaywrightTimeout:
        pytest.fail(f"the counter says {counter(page)!r}; the page's messages: {page.locator('.toast-text').all_inner_texts()}")
    reading.get_by_text("Draw a digit").wait_for()
    # the save, the Clear it clicks and the reading of the empty pad, however many times it comes
    traffic.wait(submitted, timeout=180, quiet=CLEAR_QUIET)
    page.locator('#pad button[aria-label="Brush"].highlight').wait_for()


def exact_bars(page) -> list[str]:
    """The top-3 bars' exact probabilities (the meters' values; the text rounds to whole percents)."""
    return [meter.get_attribute("value") for meter in page.locator("#top3 meter").all()]


def counter(page) -> str:
    return page.locator("#label-counter").inner_text()


def given(page) -> int:
    """How many digits the counter says this student gave."""
    return int(re.search(r"You gave (\d+) digit", counter(page)).group(1))


def test_on_a_phone_the_reading_the_buttons_and_the_pad_fit_and_a_finger_draws_and_labels(phone):
    page, traffic = phone
    for part in ("#pad", "#label-reading", "#say-what-you-meant", "#label-right", "#label-9", "#label-counter"):
        assert in_view(page, part), f"{part} is out of view on a 390x844 phone"
    draw(page, traffic, STROKES[7], 220, (160, 160), CANVAS_SIZE, finger=True)
    assert page.evaluate("window.scrollY") == 0  # the finger drew; the page did not move
    assert "**" not in page.locator("#label-reading").inner_text() and "7" in page.locator("#label-reading").inner_text()
    before = store.shared().count()
    page.screenshot(path=ROOT / "assets" / "class_phone.png")
    say(page, traffic, "#label-7", 1)
    assert "You gave 1 digit" in counter(page)
    (row,) = store.shared().rows()[before:]
    assert (row.digit, row.read_as) == (7, 7) and row.session
    assert top_digit(page) is None and "Draw a digit" in page.locator("#label-reading").inner_text()  # ready for the next

    draw(page, traffic, STROKES[1], 220, (160, 160), CANVAS_SIZE, finger=True)
    say(page, traffic, "#label-right", 2)  # "right": the digit the network said
    assert "You gave 2 digits" in counter(page)
    assert store.shared().rows()[-1].digit == store.shared().rows()[-1].read_as

    # a 0 said to be a 6: a misread for the board
    draw(page, traffic, STROKES[0], 220, (160, 160), CANVAS_SIZE, finger=True)
    say(page, traffic, "#label-6", 3)
    assert "You gave 3 digits" in counter(page)
    assert all(in_view(page, part) for part in ("#pad", "#label-reading", "#say-what-you-meant", "#label-counter"))


def open_board(served):
    page = served[0].new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(served[1] + "board")
    return page


def test_the_board_shows_the_class_drawings_and_the_misread(served, phone):
    board = open_board(served)
    try:
        drawings = store.shared().count()
        board.locator("#board-figures").get_by_text(f"{drawings} drawing{'s' if drawings != 1 else ''} from").wait_for()
        assert board.locator("#misreads figcaption", has_text="meant 6").count() == 1
        assert board.locator('#confusion button[data-meant="6"][data-read]').count() == 1  # the misread's cell
        board.screenshot(path=ROOT / "assets" / "class_board.png", full_page=True)
    finally:
        board.close()


def shown_ids(board, heading: str) -> list[int]:
    """Wait for the drawings panel's heading, then the ids of the drawings it shows, in order."""
    board.locator("#drawings-block h3").get_by_text(heading).wait_for()
    return [int(figure.get_attribute("data-id")) for figure in board.locator("#drawings-block figure").all()]


@pytest.mark.slow
def test_a_click_on_the_confusion_matrix_or_a_digit_shows_the_drawings_behind_it(served, phone):
    rng = np.random.default_rng(1)
    network = live.current()

    def labelled(strokes: int, meant: int, read: int) -> int:
        """A classmate's drawing, kept as meant and read so, whatever the network says of it."""
        picture = draw_like_a_person(STROKES[strokes], rng)
        return store.shared().add(session="classmate-clicks", digit=meant, read_as=read, probabilities=np.eye(10)[read],
                                  network=network.name, version=network.version, png=store.png_bytes(picture),
                                  image28=network.classifier.predict(picture).image)

    sevens_read_as_ones = [labelled(7, 7, 1) for _ in range(3)]
    labelled(7, 7, 7)
    labelled(1, 1, 1)
    rows = store.shared().rows()
    board = open_board(served)
    try:
        board.locator("#board-figures").get_by_text(f"{len(rows)} drawings from").wait_for()
        cell = board.locator('#confusion button[data-meant="7"][data-read="1"]')
        assert cell.inner_text() == "3"
        cell.click()
        assert shown_ids(board, "Meant 7, read 1: 3 drawings") == sevens_read_as_ones[::-1]  # newest first
        assert board.locator("#drawings-block figcaption", has_text="meant 7, read 1").count() == 3
        board.screenshot(path=ROOT / "assets" / "class_board_cell.png", full_page=True)

        # a digit's column of the per-digit table: every drawing of that digit, however it was read
        sevens = sorted((row.id for row in rows if row.digit == 7), reverse=True)
        board.locator('#per-digit button[data-meant="7"]').last.click()
        assert shown_ids(board, f"Every 7: {len(sevens)} drawings") == sevens
        # a column of the matrix: every drawing the network read as that digit
        read_as_one = sorted((row.id for row in rows if row.read_as == 1), reverse=True)
        board.locator('#confusion th button[data-read="1"]').click()
        assert shown_ids(board, f"Every drawing read as 1: {len(read_as_one)} drawings") == read_as_one

        # the panel follows the class: one more 7 read as 1 appears in the open cell at the next refresh
        cell.click()
        shown_ids(board, "Meant 7, read 1: 3 drawings")
        newest = labelled(7, 7, 1)
        assert shown_ids(board, "Meant 7, read 1: 4 drawings")[0] == newest
    finally:
        board.close()


def test_the_teacher_fine_tunes_with_the_key_and_the_new_network_answers(served, phone):
    page, traffic = phone
    rng = np.random.default_rng(0)
    network = live.current()
    for i in range(40):  # the rest of the class, labelled through the same store as the app
        digit = i % 10
        prediction = network.classifier.predict(draw_like_a_person(STROKES[digit], rng))
        store.shared().add(session=f"classmate-{i % 8}", digit=digit, read_as=prediction.top(1)[0][0],
                           probabilities=prediction.probabilities, network=network.name, version=network.version,
                           png=store.png_bytes(draw_like_a_person(STROKES[digit], rng)), image28=prediction.image)
    draw(page, traffic, STROKES[4], 200, (160, 160), CANVAS_SIZE, finger=True)
    bars_before = exact_bars(page)

    board = open_board(served)
    try:
        board.locator("#teacher").get_by_text("Teacher").click()
        board.locator("#teacher-key input").fill("not the key")
        board.locator("#teach").click()
        board.get_by_text("needs the teacher key").first.wait_for()
        assert live.current().version == "shipped"

        board.locator("#teacher-key input").fill(KEY)
        board.locator("#teach").click()
        board.locator("#teacher .progress-text, #teacher .progress-level").first.wait_for(timeout=60_000)  # the bar
        board.locator("#board-figures").get_by_text("Network: CNN (class-").wait_for(timeout=600_000)
        assert live.current().version.startswith("class-")
        assert board.locator("#board-figures").get_by_text("Last lesson").count() == 1
        board.screenshot(path=ROOT / "assets" / "class_finetuned.png", full_page=True)
    finally:
        board.close()

    # the same drawing, read again by the student's page: now by the fine-tuned network
    say(page, traffic, "#label-4", given(page) + 1)
    assert store.shared().rows()[-1].version == live.current().version
    draw(page, traffic, STROKES[4], 200, (160, 160), CANVAS_SIZE, finger=True)
    assert top_digit(page) == "4"
    assert exact_bars(page) != bars_before  # other probabilities: another network


def test_a_number_is_labelled_by_typing_what_was_meant(served):
    page, traffic = open_app(*served)
    try:
        before = store.shared().stats()
        for place, digit in enumerate("47"):
            draw(page, traffic, STROKES[int(digit)], 160, (220 + 140 * place, 160), CANVAS_SIZE)
        assert page.locator("#number").inner_text().strip() == "47"
        page.locator("#label-number").get_by_role("textbox").fill("47")
        submitted = traffic.joins_sent
        page.locator("#label-number-save").click()
        page.locator("#label-counter").get_by_text("Saved").wait_for()
        page.locator("#label-reading").get_by_text("Draw a digit").wait_for()  # the cleared pad's reading came
        traffic.wait(submitted, timeout=180, quiet=CLEAR_QUIET)
        after = store.shared().stats()
        assert after["numbers"] == before["numbers"] + 1 and after["numbers_read_exactly"] == before["numbers_read_exactly"] + 1
        assert after["drawings"] == before["drawings"] + 2  # both digits joined the class set
        assert page.locator("#number").inner_text().strip() == ""  # the pad was cleared for the next
    finally:
        page.context.close()
