"""The app's Draw view callback, and its scripting API served for real and called with gradio_client.

The Compare and Inside views have their own tests (tests/test_views_*.py).
"""

import base64
import dataclasses
import io
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

# before app: importing the helpers turns Gradio's usage analytics off, and app builds its Blocks
from bench.browser import serving  # isort: skip
import app
from views.draw import HINT, SEVERAL, UNSURE
from views.uploads import MAX_UPLOAD
from model.examples import STROKES, example_paths
from model.canvas import draw_strokes, sketchpad_value
from model.paths import ROOT
from tests.conftest import drawn_four, drawn_number

CLEARED = {"background": None, "layers": [], "composite": None}  # what the pad sends after Clear


def preview_pixels(html: str) -> np.ndarray:
    source = html.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source))))


# --- the callbacks --------------------------------------------------------------------------


def test_a_drawing_gives_bars_verdict_and_preview():
    number, bars, verdict, symbols, preview = app.draw.read(sketchpad_value(drawn_four()))
    assert number == "4" and symbols == ""  # one digit: the bars, no boxes
    assert list(bars)[0] == "4" and len(bars) == 3  # the top 3, highest first
    assert list(bars.values()) == sorted(bars.values(), reverse=True)
    assert "**4**" in verdict and UNSURE not in verdict  # the Label's heading shows
    pixels = preview_pixels(preview)
    assert pixels.shape == (280, 280)
    # white ink on black, as the network sees it: the digit's pixels are bright, the corners dark
    assert pixels[:30, :30].mean() < 40 and pixels.max() > 200


@pytest.mark.parametrize("drawing", [None, CLEARED, sketchpad_value(np.full((320, 320), 255, np.uint8))],
                         ids=["none", "cleared", "white"])
def test_nothing_drawn_gives_the_hint_and_no_prediction(drawing):
    number, bars, verdict, symbols, preview = app.draw.read(drawing)
    assert number == "" and bars is None and verdict == HINT and symbols == preview == ""


def test_an_unsure_reading_says_so_and_names_no_digit(monkeypatch):
    classifier = app.live_classifier()
    monkeypatch.setattr(classifier, "spec", dataclasses.replace(classifier.spec, unsure_below=1.01))  # none reaches it
    _, bars, verdict, _, preview = app.draw.read(sketchpad_value(drawn_four()))
    assert "Not sure" in verdict and "4" in verdict
    assert verdict.startswith(UNSURE) and len(bars) == 3  # the page's CSS hides the heading; the bars still show
    assert preview


def test_strokes_of_many_students_are_read_in_one_batch_each_its_own():
    drawings = [sketchpad_value(draw_strokes(STROKES[d], 200, (160, 160))) for d in (3, 7)]
    broken = {"composite": np.zeros((2, 2, 2, 2), np.uint8)}  # no picture at all
    numbers, bars, verdicts, _, previews = app.draw.on_strokes([drawings[0], broken, None, drawings[1]])  # one list per output
    assert numbers == ["3", "", "", "7"]
    assert [list(b)[0] if b else None for b in bars] == ["3", None, None, "7"]
    assert "could not be read" in verdicts[1] and verdicts[2] == HINT  # the broken one spoils nothing
    assert previews[0] and previews[3] and previews[1] == previews[2] == ""


def test_a_number_shows_the_number_its_boxes_and_each_digits_top_3():
    number, bars, verdict, symbols, preview = app.draw.read(drawn_number("2026"))
    assert number == "2026"
    assert bars is None and SEVERAL in verdict and "**2026**" in verdict  # the page's CSS hides the bars
    assert symbols.count("<rect ") == 4 and 'data-symbol="6"' in symbols  # each symbol boxed on the drawing
    assert symbols.count("%<br>") >= 4 * 2  # each digit's top 3
    assert preview.count("<img ") == 4  # each digit's 28x28


def test_an_unsure_symbol_of_a_number_is_marked(monkeypatch):
    classifier = app.live_classifier()
    monkeypatch.setattr(classifier, "spec", dataclasses.replace(classifier.spec, unsure_below=1.01))
    number, _, verdict, symbols, _ = app.draw.read(drawn_number("47"))
    assert number == "47" and UNSURE in verdict and "Not sure" in verdict
    assert symbols.count('data-unsure="true"') == 2 and "not sure" in symbols


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_every_example_reads_as_its_digit(digit):
    path = example_paths()[digit]
    assert Path(path).name == f"{digit}.png"
    _, bars, verdict, _, _ = app.draw.read(np.asarray(Image.open(path)))
    assert list(bars)[0] == str(digit), verdict


def test_the_examples_are_what_the_script_draws():
    for digit, path in zip(STROKES, example_paths()):
        drawn = draw_strokes(STROKES[digit], height=320 * 2 / 3, centre=(160, 160))
        # a Pillow release may draw a line's edge a pixel differently; a changed stroke is far more
        assert np.mean(np.asarray(Image.open(path)) != drawn) < 0.005, f"rerun python -m model.examples for {digit}"


# --- the scripting API, served for real -------------------------------------------------------


@pytest.fixture(scope="module")
def url():
    with serving(app.demo, **app.LAUNCH_OPTIONS) as served:
        yield served


@pytest.fixture(scope="module")
def client(url):
    return Client(url, verbose=False)


def saved(tmp_path, image: Image.Image, name: str, **options) -> str:
    path = tmp_path / name
    image.save(path, **options)
    return str(path)


def four(mode: str = "L", size: int = 320) -> Image.Image:
    image = Image.fromarray(drawn_four())
    return (image if size == 320 else image.resize((size, size), Image.Resampling.NEAREST)).convert(mode)


def transparent_four() -> Image.Image:
    """Black ink on a fully transparent background, the way many drawing apps export."""
    rgba = np.zeros((320, 320, 4), np.uint8)
    rgba[..., 3] = 255 - drawn_four()
    return Image.fromarray(rgba)


@pytest.mark.slow
def test_api_reads_a_drawn_digit(client, tmp_path):
    answer = client.predict(handle_file(saved(tmp_path, four(), "four.png")), api_name="/predict")
    assert answer["blank"] is False and answer["unsure"] is False
    assert [entry["digit"] for entry in answer["top3"]][0] == 4 and len(answer["top3"]) == 3
    probabilities = [entry["probability"] for entry in answer["top3"]]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6



@pytest.mark.slow
def test_api_reads_a_drawn_number_and_a_blank_picture(client, tmp_path):
    from tests.test_model_cli import drawn_number

    answer = client.predict(handle_file(saved(tmp_path, Image.fromarray(drawn_number("2026")), "2026.png")), api_name="/read")
    assert answer["text"] == "2026" and answer["blank"] is False
    assert set(answer) == {"text", "blank", "unsure", "symbols"}
    assert all({"symbol", "probability", "box", "top3"} <= set(symbol) for symbol in answer["symbols"])
    blank = client.predict(handle_file(saved(tmp_path, Image.new("L", (320, 320), 255), "white.png")), api_name="/read")
    assert blank == {"text": "", "blank": True, "unsure": False, "symbols": []}


@pytest.mark.slow
@pytest.mark.parametrize("make", [
    lambda tmp: saved(tmp, four("P"), "palette.png"),
    lambda tmp: saved(tmp, transparent_four(), "transparent.png"),
    lambda tmp: saved(tmp, four("LA"), "gray-alpha.png"),
    lambda tmp: saved(tmp, four("1"), "one-bit.png"),
    lambda tmp: saved(tmp, Image.fromarray(drawn_four().astype(np.uint16) * 257), "sixteen-bit.png"),
    lambda tmp: saved(tmp, four("CMYK"), "cmyk.jpg", quality=90),
    lambda tmp: saved(tmp, four("RGB"), "photo.webp"),
    lambda tmp: saved(tmp, four("L", size=8000), "huge.png"),
], ids=["palette", "transparent", "gray+alpha", "1-bit", "16-bit", "cmyk-jpeg", "webp", "8000x8000"])
def test_api_reads_odd_image_modes_and_sizes(client, tmp_path, make):
    answer = client.predict(handle_file(make(tmp_path)), api_name="/predict")
    assert answer["top3"][0]["digit"] == 4


@pytest.mark.slow
@pytest.mark.parametrize("make", [
    lambda tmp: saved(tmp, Image.new("L", (1, 1), 255), "one-pixel.png"),
    lambda tmp: saved(tmp, Image.new("RGB", (1, 1), 0), "one-black-pixel.png"),
    lambda tmp: saved(tmp, Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "all-transparent.png"),
    lambda tmp: saved(tmp, Image.new("L", (8000, 8000), 255), "huge-white.png"),
], ids=["1x1", "1x1-black", "all-transparent", "8000x8000-white"])
def test_api_gives_the_blank_answer_when_there_is_no_digit(client, tmp_path, make):
    assert client.predict(handle_file(make(tmp_path)), api_name="/predict") == {"blank": True, "unsure": False, "top3": []}


def written(tmp_path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


def truncated_png(tmp_path) -> str:
    whole = Path(saved(tmp_path, four(), "whole.png")).read_bytes()
    return written(tmp_path, "truncated.png", whole[: len(whole) // 2])


@pytest.mark.slow
@pytest.mark.parametrize("make", [
    lambda tmp: written(tmp, "notes.png", b"these are not the pixels you are looking for"),
    truncated_png,
    lambda tmp: written(tmp, "empty.png", b""),
], ids=["not-an-image", "truncated-png", "empty-file"])
def test_api_refuses_unreadable_files_with_a_clear_error(client, tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(AppError, match="not a readable image") as error:
        client.predict(handle_file(path), api_name="/predict")
    assert "/tmp/" not in str(error.value)  # names the file as sent, not where the server keeps it
    # ... and the server keeps answering
    assert client.predict(handle_file(saved(tmp_path, four(), "four.png")), api_name="/predict")["top3"][0]["digit"] == 4


@pytest.mark.slow
def test_api_serves_20_concurrent_clients_without_errors(url, tmp_path):
    path = saved(tmp_path, four(), "four.png")
    requests_each = 5

    def one_client(_):
        client = Client(url, verbose=False)
        return [client.predict(handle_file(path), api_name="/predict")["top3"][0]["digit"] for _ in range(requests_each)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = [digit for digits in pool.map(one_client, range(20)) for digit in digits]
    assert answers == [4] * 20 * requests_each


@pytest.mark.slow
def test_predict_and_compare_are_public_and_no_view_is(client):
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/predict", "/read", "/compare", "/label", "/label_number"} <= endpoints
    # the views' own events take internal values (the pad's payload, a kept drawing): private
    assert not endpoints & {"/read_1", "/on_strokes", "/show", "/show_if_open", "/open_link", "/lambda",
                            "/label_typed_number", "/label_number_1"}


@pytest.mark.slow
def test_api_compare_gives_every_network_each_way(client, tmp_path):
    # small, in a corner: the MNIST recipe still reads it, the whole canvas squeezed to 28x28 does not
    small_four = saved(tmp_path, Image.fromarray(drawn_four(height=70, centre=(60, 60))), "small-four.png")
    answer = client.predict(handle_file(small_four), api_name="/compare")
    assert set(answer) == set(app.classifiers) and {"cnn", "mlp"} <= set(answer)
    for name, ways in answer.items():
        assert set(ways) == {"mnist", "naive"}
        for way in ways.values():
            assert way["blank"] is False and len(way["top3"]) == 3 and isinstance(way["unsure"], bool)
        assert ways["mnist"]["top3"][0]["digit"] == 4, name
    assert any(ways["naive"]["top3"][0]["digit"] != 4 for ways in answer.values())


@pytest.mark.slow
def test_api_compare_refuses_an_unreadable_file(client, tmp_path):
    with pytest.raises(AppError, match="notes.png: not a readable image"):
        client.predict(handle_file(written(tmp_path, "notes.png", b"not an image")), api_name="/compare")


# --- serving: upload limits and the cache -----------------------------------------------------


@pytest.mark.slow
def test_an_upload_over_the_limit_is_refused_with_a_clear_message(url, client, tmp_path):
    import httpx
    limit = int(MAX_UPLOAD.removesuffix("mb")) * 1024 * 1024
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + bytes(limit + 1024))
    with open(big, "rb") as file:
        response = httpx.post(f"{url}gradio_api/upload", files={"files": ("huge.png", file, "image/png")}, timeout=60)
    assert response.status_code == 413
    assert f"maximum allowed size of {limit} bytes" in response.text
    assert client.predict(handle_file(saved(tmp_path, four(), "four.png")), api_name="/predict")["top3"][0]["digit"] == 4


# --- without usable weights ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("weights", [None, b"\x00not a torch file"], ids=["missing", "corrupt"])
def test_without_usable_weights_the_app_starts_and_says_how_to_fix_it(tmp_path, weights):
    """A copy of the app whose assets/cnn.pt is missing or corrupt, imported in a fresh Python."""
    for module in ROOT.glob("*.py"):  # app.py and the top-level modules it imports
        shutil.copy(module, tmp_path / module.name)
    for package in ("model", "views", "classroom", "training"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets" / "examples", tmp_path / "assets" / "examples")
    if weights is not None:
        (tmp_path / "assets" / "cnn.pt").write_bytes(weights)
    probe = ("import app, gradio as gr\n"
             "print(app.draw.read(None)[2])\n"
             "try:\n    app.predict_file(app.live_classifier, app.weights_problem)('x.png')\n"
             "except gr.Error as error:\n    print('API:', error.message)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "python train.py --arch cnn" in result.stderr  # the console says it at start-up
    page_text, api_text = result.stdout.splitlines()[-2:]
    assert "could not be loaded" in page_text and "python train.py --arch cnn" in page_text
    assert api_text.startswith("API:") and "python train.py --arch cnn" in api_text


def cache_entries(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")} if root.exists() else set()


@pytest.mark.slow
def test_500_requests_leave_no_file_per_request_and_the_cache_empties(url, tmp_path):
    from gradio.route_utils import delete_files_created_by_app
    from gradio.utils import get_upload_folder

    from views.uploads import remove_empty_folders

    root = Path(get_upload_folder())
    before = cache_entries(root)
    pictures = [saved(tmp_path, four("L", size=size), f"four-{size}.png") for size in (160, 240, 320, 400, 480)]

    def one_client(first: int) -> list[int]:  # a Client per thread: one Client is not for concurrent calls
        client, digits = Client(url, verbose=False), []
        for i in range(first, 500, 4):
            endpoint = "/predict" if i % 2 else "/compare"
            answer = client.predict(handle_file(pictures[i % len(pictures)]), api_name=endpoint)
            digits.append(answer["top3"][0]["digit"] if endpoint == "/predict" else answer["cnn"]["mnist"]["top3"][0]["digit"])
        return digits

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(one_client, range(4)), []) == [4] * 500
    new = cache_entries(root) - before
    # each distinct picture is kept once, in a folder named by its content, and nothing else:
    # no empty temporary file per request (gr.File's own preprocessing would leave one)
    assert not [entry for entry in new if "/" not in entry and (root / entry).is_file()], "a file per request in the root"
    assert len([entry for entry in new if (root / entry).is_file()]) <= len(pictures)
    # ... until the cache's cleaning runs: Gradio's scheduled deletion, as app.py configures it
    # (here with age 0 instead of CACHE_AGE), then the sweep of the folders it leaves empty
    delete_files_created_by_app(app.demo, age=0)
    remove_empty_folders(root, older_than=0)
    assert not (cache_entries(root) - before)
