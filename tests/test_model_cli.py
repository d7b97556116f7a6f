import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from model.canvas import draw_strokes
from model.examples import STROKES
from model.paths import ROOT
from tests.conftest import drawn_four

pytestmark = pytest.mark.slow  # a Python process per command


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_predict_prints_top3_per_file_as_json_lines(tmp_path):
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run_cli("predict", "--json", str(tmp_path / "four.png"), str(tmp_path / "blank.png"), str(tmp_path / "broken.png"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["top3"][0]["digit"] == 4 and len(lines[0]["top3"]) == 3 and not lines[0]["blank"]
    assert lines[0]["unsure"] is False  # a clear 4: the same rule as the page's "not sure"
    assert lines[1] == {"file": str(tmp_path / "blank.png"), "blank": True, "unsure": False, "top3": []}
    assert set(lines[2]) == {"file", "error"} and "not a readable image" in lines[2]["error"]
    assert str(tmp_path) not in lines[2]["error"]
    assert result.returncode == 1  # one file could not be read


def test_predict_plain_text(tmp_path):
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    result = run_cli("predict", str(tmp_path / "four.png"))
    assert result.returncode == 0
    assert result.stdout.startswith(f"{tmp_path / 'four.png'}: 4 (")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_every_file_is_read_and_nothing_blocks(tmp_path):
    """A FIFO with no writer, a device, a folder, a missing file and junk each get one error line;
    the good files before and after them are still read."""
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "junk.png").write_bytes(os.urandom(500))
    (tmp_path / "empty.png").write_bytes(b"")
    files = [tmp_path / "four.png", tmp_path / "pipe.png", "/dev/zero", tmp_path / "folder.png",
             tmp_path / "missing.png", tmp_path / "junk.png", tmp_path / "empty.png", tmp_path / "four.png"]
    result = run_cli("predict", "--json", *map(str, files), timeout=60)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, files))
    assert lines[0]["top3"][0]["digit"] == 4 and lines[-1]["top3"][0]["digit"] == 4
    errors = {line["file"]: line["error"] for line in lines[1:-1]}
    assert len(errors) == len(files) - 2
    assert "not a regular file" in errors[str(tmp_path / "pipe.png")]
    assert "not a regular file" in errors["/dev/zero"]
    assert "folder" in errors[str(tmp_path / "folder.png")]
    assert "no such file" in errors[str(tmp_path / "missing.png")]
    assert "not a readable image" in errors[str(tmp_path / "junk.png")]
    for error in errors.values():
        assert str(tmp_path) not in error and "Traceback" not in error
    assert "Traceback" not in result.stderr
    assert result.returncode == 1


def test_plain_text_error_lines(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = run_cli("predict", str(tmp_path / "notes.txt"))
    assert result.stdout == f"{tmp_path / 'notes.txt'}: error: not a readable image: " \
        "the file is not in an image format this reader knows (PNG, JPEG, WEBP, GIF, BMP, TIFF ...)\n"
    assert result.returncode == 1


def test_bad_weights_file_is_a_clear_error(tmp_path):
    (tmp_path / "cnn.pt").write_bytes(b"garbage")
    result = run_cli("predict", "--weights", str(tmp_path / "cnn.pt"), "x.png")
    assert result.returncode == 2
    assert "python train.py" in result.stderr and "Traceback" not in result.stderr
    assert str(tmp_path) not in result.stderr


def drawn_number(digits: str) -> np.ndarray:
    """The example strokes of each digit side by side, with gaps, on one wide canvas."""
    canvas = np.full((320, 60 + 180 * len(digits)), 255, np.uint8)
    for i, digit in enumerate(digits):
        one = draw_strokes(STROKES[int(digit)], 180, (160, 160))[:, 60:260]
        canvas[:, 40 + 180 * i: 240 + 180 * i] = np.minimum(canvas[:, 40 + 180 * i: 240 + 180 * i], one)
    return canvas


def test_read_prints_one_line_per_file_in_order_and_fails_on_a_bad_one(tmp_path):
    Image.fromarray(drawn_number("2026")).save(tmp_path / "2026.png")
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    files = [str(tmp_path / name) for name in ("2026.png", "four.png", "blank.png", "broken.png")]
    result = run_cli("read", "--json", *files)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    assert lines[0]["text"] == "2026" and [s["symbol"] for s in lines[0]["symbols"]] == list("2026")
    assert all(len(s["box"]) == 4 and len(s["top3"]) == 3 for s in lines[0]["symbols"])
    boxes = [s["box"] for s in lines[0]["symbols"]]
    assert boxes == sorted(boxes)  # left to right
    assert lines[1]["text"] == "4" and not lines[1]["blank"]  # a lone digit is a one-symbol number
    assert lines[2]["blank"] is True and lines[2]["text"] == "" and lines[2]["symbols"] == []
    assert set(lines[3]) == {"file", "error"} and "not a readable image" in lines[3]["error"]
    assert result.returncode == 1
    plain = run_cli("read", files[0])
    assert plain.returncode == 0 and plain.stdout.strip() == f"{files[0]}: 2026"


def test_read_without_usable_weights_exits_2(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"junk")
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    result = run_cli("read", "--weights", str(tmp_path / "bad.pt"), str(tmp_path / "four.png"))
    assert result.returncode == 2 and result.stderr.startswith("error:")
