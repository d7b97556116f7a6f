import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.canvas import sketchpad_value
from model.preprocess import (
    BOX, CENTRE, MNIST_STROKE_WIDTHS, SIZE, UnreadableImage, centre_of_mass, naive_resize, open_image, shrink,
    stroke_width, to_mnist, trace,
)
from tests.conftest import drawn_four


def ink_extent(image28: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((image28 > threshold).any(axis=1))
    cols = np.flatnonzero((image28 > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("height, centre", [(200, (160, 160)), (80, (60, 250)), (290, (160, 165))])
def test_centre_of_mass_lands_at_the_centre(height, centre):
    image28 = to_mnist(drawn_four(height, centre))
    row, col = centre_of_mass(image28)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_longer_side_is_20_px():
    image28 = to_mnist(drawn_four())
    assert image28.shape == (SIZE, SIZE) and image28.dtype == np.float32
    assert 0.0 <= image28.min() and image28.max() <= 1.0
    # The 4x4 block averaging can put a faint edge into one more pixel.
    assert max(ink_extent(image28, threshold=0.2)) in (BOX, BOX + 1)


@pytest.mark.parametrize("normalize_stroke", [True, False])
def test_same_digit_at_other_places_and_sizes_gives_nearly_the_same_input(normalize_stroke):
    reference = to_mnist(drawn_four(200, (160, 160)), normalize_stroke=normalize_stroke)
    for height, centre in [(120, (70, 90)), (250, (170, 150)), (150, (230, 220))]:
        other = to_mnist(drawn_four(height, centre), normalize_stroke=normalize_stroke)
        assert np.abs(other - reference).mean() < 0.05


def test_stroke_width_is_normalised_for_small_and_large_drawings():
    # Same brush, digit 80 px vs 290 px tall: relative stroke width differs about 3.6x.
    small, large = to_mnist(drawn_four(80, (60, 60))), to_mnist(drawn_four(290, (160, 160)))
    as_drawn = [to_mnist(drawn_four(h, (160, 160)), normalize_stroke=False) for h in (80, 290)]

    def width(image28):  # measured the same way as on MNIST: at 4x resolution
        return stroke_width(np.kron(image28, np.ones((4, 4), np.float32))) / 4

    assert width(as_drawn[0]) / width(as_drawn[1]) > 2.0
    assert width(as_drawn[0]) > MNIST_STROKE_WIDTHS[1] and width(as_drawn[1]) < MNIST_STROKE_WIDTHS[0]
    thinnest, thickest = MNIST_STROKE_WIDTHS
    for image28 in (small, large):  # brought into MNIST's range (the 28 px grid blurs the measure a little)
        assert 0.85 * thinnest <= width(image28) <= 1.15 * thickest


def test_black_on_white_white_on_black_and_transparent_rgba_agree():
    canvas = drawn_four()
    black_on_white = to_mnist(canvas)
    white_on_black = to_mnist(255 - canvas)
    rgba = np.zeros(canvas.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - canvas  # black ink on a fully transparent background
    transparent = to_mnist(Image.fromarray(rgba, "RGBA"))
    from_sketchpad = to_mnist(sketchpad_value(canvas))
    for other in (white_on_black, transparent, from_sketchpad):
        assert np.abs(other - black_on_white).max() < 1e-5


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"background": None, "layers": [], "composite": None},  # an empty or cleared Sketchpad
        np.full((320, 320), 255, np.uint8),  # white canvas
        np.zeros((320, 320, 4), np.uint8),  # fully transparent
        np.full((5, 5, 3), 0.3, np.float32),  # uniform grey
        np.zeros((0, 0), np.uint8),
    ],
)
def test_blank_inputs_give_blank(value):
    assert to_mnist(value) is None


def test_specks_give_blank():
    canvas = np.full((800, 800), 255, np.uint8)
    canvas[100, 100] = canvas[400:402, 600:602] = canvas[700, 50] = 0  # dust
    assert to_mnist(canvas) is None
    dot = drawn_four(height=1)  # one tap of the brush: a round dot, not a digit
    assert to_mnist(dot) is None


def test_a_sparse_field_of_equal_specks_gives_blank():
    # 40 specks, each under the share of ink a piece must hold: all of it is dust, nothing is left to crop to
    canvas = np.full((640, 640), 255, np.uint8)
    for i in range(8):
        for j in range(5):
            canvas[40 + 75 * i : 42 + 75 * i, 40 + 130 * j : 42 + 130 * j] = 0
    assert to_mnist(canvas) is None


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


# --- issue 8: each finding, reproduced with a few lines of numpy and PIL ------------------------


def on_white(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def close_to_reference(image28) -> bool:
    return image28 is not None and np.abs(image28 - to_mnist(drawn_four())).mean() < 0.03


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


def test_alpha_is_the_drawing_only_when_the_picture_shows_nothing_on_white():
    canvas = drawn_four()
    opaque = np.dstack([on_white(canvas), np.full(canvas.shape, 255, np.uint8)])
    border = opaque.copy()
    border[0, :, 3] = border[-1, :, 3] = border[:, 0, 3] = border[:, -1, 3] = 0
    corner = opaque.copy()
    corner[:60, :60, 3] = 0
    uniform = opaque.copy()
    uniform[..., 3] = 200
    white_ink = np.dstack([np.full(canvas.shape + (3,), 255, np.uint8), 255 - canvas])  # only the alpha shows it
    for rgba in (border, corner, uniform, white_ink):
        assert close_to_reference(to_mnist(rgba))


def test_coloured_ink_is_read_by_its_colour():
    amount = (1 - drawn_four() / 255.0)[..., None]
    for ink, paper in (((230, 20, 20), (20, 40, 220)), ((255, 220, 0), (255, 255, 255))):  # red on blue, yellow on white
        rgb = np.round(np.array(paper) * (1 - amount) + np.array(ink) * amount).astype(np.uint8)
        assert close_to_reference(to_mnist(rgb))


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


def test_a_tiny_digit_on_a_huge_canvas_is_read():
    canvas = np.full((2000, 2000), 255, np.uint8)
    canvas[900:940, 1200:1240] = np.asarray(Image.fromarray(drawn_four()).resize((40, 40), Image.Resampling.BOX))
    assert to_mnist(canvas) is not None


def test_frames_and_uneven_lighting_are_taken_away():
    canvas = drawn_four().copy()
    canvas[:5], canvas[-5:], canvas[:, :5], canvas[:, -5:] = 0, 0, 0, 0  # a black frame at the edge
    assert close_to_reference(to_mnist(canvas))
    inset = drawn_four().copy()
    inset[8:12, 8:-8] = inset[-12:-8, 8:-8] = inset[8:-8, 8:12] = inset[8:-8, -12:-8] = 0
    assert close_to_reference(to_mnist(inset))
    y, x = (np.mgrid[0:320, 0:320] + 0.5) / 320
    for light in (0.35 + 0.6 * x, 1 - 1.2 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)):  # a gradient, a vignette
        photo = light * (0.1 + 0.9 * drawn_four() / 255.0)
        assert close_to_reference(to_mnist(photo.astype(np.float32)))


def test_a_7s_bar_near_the_top_is_not_a_frame():
    canvas = np.full((100, 100), 255, np.uint8)
    canvas[3:9, 5:95] = 0  # the bar, along the whole top
    canvas[9:97, 60:66] = 0  # the stem
    image28 = to_mnist(canvas)
    assert (image28 > 0.3).sum(axis=1).max() >= 15  # the bar is still there, 20 px across


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


# --- trace and naive_resize (the teaching views) -----------------------------------------------------


def test_trace_names_each_step_and_ends_with_to_mnists_answer():
    canvas = drawn_four()
    steps = trace(canvas)
    assert [name for name, _ in steps] == ["ink found", "cropped to the ink", "scaled: longer side 20 px",
                                           "stroke width into MNIST's range", "centre of mass at the centre"]
    for name, picture in steps:
        assert picture.dtype == np.float32 and 0 <= picture.min() and picture.max() <= 1, name
    assert steps[0][1].shape == canvas.shape
    assert max(steps[2][1].shape) == BOX * 4  # the longer side, at the 4x working resolution
    assert np.array_equal(steps[-1][1], to_mnist(canvas))
    assert trace(np.full((50, 50), 255, np.uint8)) is None and trace(None) is None


def test_naive_resize_squeezes_the_whole_canvas():
    canvas = drawn_four()
    naive = naive_resize(canvas)
    assert naive.shape == (SIZE, SIZE) and naive.dtype == np.float32
    expected = 1 - np.asarray(Image.fromarray(canvas).resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.float32) / 255
    assert np.allclose(naive, expected)
    assert np.allclose(naive_resize(sketchpad_value(canvas)), naive, atol=1 / 255)
    assert naive_resize(np.full((50, 50), 255, np.uint8)) is None and naive_resize(None) is None
