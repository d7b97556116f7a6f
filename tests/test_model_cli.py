import json
import subprocess
import sys

from PIL import Image

from tests.conftest import ROOT, drawn_four


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_predict_prints_top3_per_file_as_json_lines(tmp_path):
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run_cli("predict", "--json", str(tmp_path / "four.png"), str(tmp_path / "blank.png"), str(tmp_path / "broken.png"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["top3"][0]["digit"] == 4 and len(lines[0]["top3"]) == 3 and not lines[0]["blank"]
    assert lines[1] == {"file": str(tmp_path / "blank.png"), "blank": True, "top3": []}
    assert "not a readable image" in lines[2]["error"]
    assert result.returncode == 1  # one file could not be read


def test_predict_plain_text(tmp_path):
    Image.fromarray(drawn_four()).save(tmp_path / "four.png")
    result = run_cli("predict", str(tmp_path / "four.png"))
    assert result.returncode == 0
    assert result.stdout.startswith(f"{tmp_path / 'four.png'}: 4 (")


def test_bad_weights_file_is_a_clear_error(tmp_path):
    (tmp_path / "cnn.pt").write_bytes(b"garbage")
    result = run_cli("predict", "--weights", str(tmp_path / "cnn.pt"), "x.png")
    assert result.returncode == 2
    assert "python train.py" in result.stderr and "Traceback" not in result.stderr
