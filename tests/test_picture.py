"""Picture in (model/picture.py): files, bytes, modes, bit depths, ranges, EXIF, sizes and refusals."""

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.picture import UnreadableImage, open_image, shrink
from model.preprocess import BOX, to_mnist
from tests.conftest import close_to_reference, drawn_four, ink_extent


def test_tiny_huge_and_odd_inputs_are_handled():
    assert to_mnist(np.zeros((1, 1), np.uint8)) is None
    assert to_mnist(Image.new("RGB", (1, 1), "white")) is None

    huge = np.full((6000, 6000), 255, np.uint8)
    huge[1000:5000, 2800:3200] = 0  # a "1"
    image28 = to_mnist(huge)
    assert image28 is not None and max(ink_extent(image28, 0.2)) in (BOX, BOX + 1)
    assert to_mnist(Image.fromarray(huge)) is not None

    canvas = drawn_four()
    reference = to_mnist(canvas)
    grey = Image.fromarray(canvas)
    odd = {
        "P": grey.convert("P"),
        "LA": grey.convert("LA"),
        "I;16": Image.fromarray(canvas.astype(np.uint16) * 257),
        "I": grey.convert("I"),
        "F": grey.convert("F"),
        "1": grey.convert("1"),
        "CMYK": grey.convert("CMYK"),
        "float array": canvas.astype(np.float32) / 255,
        "float 0-255": canvas.astype(np.float64),
        "bool array": canvas > 127,
        "H x W x 1": canvas[..., None],
        "H x W x 3": np.repeat(canvas[..., None], 3, axis=2),
    }
    for name, value in odd.items():
        image28 = to_mnist(value)
        assert image28 is not None, name
        assert np.abs(image28 - reference).mean() < 0.03, name


def test_rejects_what_is_not_an_image():
    with pytest.raises(ValueError):
        to_mnist(np.zeros((4, 4, 7), np.uint8))


@pytest.mark.parametrize("shape, dtype", [((1, 4096), np.uint16), ((3000, 1), np.float32), ((1, 5000), np.float64),
                                          ((2, 9000), np.uint8), ((7000, 3, 3), np.float32), ((9000, 8), np.float32),
                                          ((8, 5000), np.uint16), ((12, 7000, 4), np.uint8)])
def test_tall_and_wide_pictures_never_crash(shape, dtype):
    pixels = (np.random.default_rng(0).random(shape) * (255 if dtype != np.float32 else 1)).astype(dtype)
    to_mnist(pixels)  # blank or a guess, never an IndexError
    assert min(shrink(pixels, 2048).shape[:2]) >= 1


def test_a_strip_too_narrow_to_show_a_digit_is_blank():
    noise = np.random.default_rng(2).integers(0, 256, (5000, 2), dtype=np.uint8)
    assert to_mnist(noise) is None and to_mnist(noise.T) is None


@pytest.mark.parametrize("scale, dtype", [(1, np.uint16), (16, np.uint16), (1, np.int32), (1, np.int64), (257, np.uint32)])
def test_integers_are_scaled_by_the_bit_depth_their_values_use(scale, dtype):
    assert close_to_reference(to_mnist(drawn_four().astype(dtype) * scale))


def test_16_bit_png_holding_8_bit_data():
    buffer = io.BytesIO()
    Image.fromarray(drawn_four().astype(np.uint16)).save(buffer, "PNG")
    image = open_image(buffer.getvalue())
    assert image.mode.startswith("I") and close_to_reference(to_mnist(image))


def test_nan_inf_and_overshoot_do_not_blank_the_picture():
    pixels = drawn_four().astype(np.float32) / 255
    for value in (np.nan, np.inf, -np.inf):
        spoiled = pixels.copy()
        spoiled[5, 5] = value
        assert close_to_reference(to_mnist(spoiled))
    assert close_to_reference(to_mnist(np.where(pixels > 0.9, np.float32(1.03), pixels)))


# --- open_image --------------------------------------------------------------------------------


@pytest.fixture
def png(tmp_path) -> Path:
    path = tmp_path / "four.png"
    Image.fromarray(drawn_four()).save(path)
    return path


def test_open_image_takes_paths_bytes_and_files(png):
    for source in (png, str(png), png.read_bytes(), bytearray(png.read_bytes()), io.BytesIO(png.read_bytes())):
        assert close_to_reference(to_mnist(open_image(source)))
        assert close_to_reference(to_mnist(source))
    with png.open("rb") as file:
        assert open_image(file).size == (320, 320)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_fifos_devices_and_folders_are_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    answers = {}

    def read_all():
        for source in (tmp_path / "pipe.png", "/dev/zero", tmp_path):
            try:
                open_image(source)
            except UnreadableImage as error:
                answers[str(source)] = error

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "open_image blocked"
    assert "not a regular file" in answers[str(tmp_path / "pipe.png")].reason
    assert "not a regular file" in answers["/dev/zero"].reason
    assert "folder" in answers[str(tmp_path)].reason


def test_messages_name_the_file_and_never_its_folder(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    png_bytes = io.BytesIO()
    Image.fromarray(drawn_four()).save(png_bytes, "PNG")
    cases = {
        tmp_path / "notes.png": "not in an image format",
        tmp_path / "missing.png": "no such file",
        str(tmp_path / "nul\x00.png"): "NUL",
        png_bytes.getvalue()[:400]: "cut short",
    }
    for source, words in cases.items():
        with pytest.raises(UnreadableImage) as error:
            open_image(source)
        assert words in str(error.value) and str(tmp_path) not in str(error.value), str(error.value)
    with pytest.raises(UnreadableImage, match="^notes.png: "):
        open_image(tmp_path / "notes.png")


def test_truncated_tiff_and_damaged_webp_say_so_in_plain_words():
    image = Image.fromarray(drawn_four())
    tiff, webp = io.BytesIO(), io.BytesIO()
    image.save(tiff, "TIFF")
    image.convert("RGB").save(webp, "WEBP")
    with pytest.raises(UnreadableImage, match="cut short"):
        open_image(tiff.getvalue()[: len(tiff.getvalue()) // 2])
    damaged = webp.getvalue()[:24] + b"\xff" * 10 + webp.getvalue()[34:]
    with pytest.raises(UnreadableImage, match="damaged"):
        open_image(damaged)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    upright = Image.fromarray(drawn_four())
    stored = upright if orientation == 1 else upright.transpose({
        2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270}[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "PNG", exif=exif.tobytes())
    assert np.array_equal(np.asarray(open_image(buffer.getvalue())), np.asarray(upright))
    assert close_to_reference(to_mnist(Image.open(io.BytesIO(buffer.getvalue()))))  # a PIL image straight from a file, too
