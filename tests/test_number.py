"""The number reader (model/number.py, model/segment.py): a picture of a whole number in, its symbols out."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from model import load_classifier, number
from model.canvas import draw_strokes, sketchpad_value
from model.examples import STROKES
from model.ink import ink_map
from model.number import examine, read_number, segment_gate
from model.picture import MAX_SIDE
from model.segment import label_components, layout
from training.numbers import KINDS, by_writer, split_right, text_of, write_number
from training.strokes import training_digits

# Digits written in several strokes, in the examples' box (about 100 wide, 120 tall, y down):
# the examples' 4 (two strokes), a 5 with its bar drawn apart, a 7 with a crossbar drawn apart.
FIVE = [[(22, 2), (15, 55), (52, 44), (84, 62), (86, 100), (55, 121), (10, 110)], [(20, 2), (85, 0)]]
SEVEN = [[(5, 5), (90, 5), (38, 122)], [(25, 64), (78, 60)]]
HAND = {digit: [strokes] for digit, strokes in {**STROKES, 5: FIVE, 7: SEVEN}.items()}


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def written(text: str, kind: str, seed: int, samples=HAND):
    return write_number(text, samples, kind, np.random.default_rng(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_hand_written_numbers_of_every_kind_are_split_and_read(classifier, kind):
    rng = np.random.default_rng(7)
    texts = [text_of(kind, rng) for _ in range(6)]
    numbers = [written(text, kind, seed) for seed, text in enumerate(texts)]
    readings = [read_number(classifier, number.picture) for number in numbers]
    split = [split_right(reading, number) for reading, number in zip(readings, numbers)]
    read = [reading.text == text for reading, text in zip(readings, texts)]
    assert sum(split) >= (5 if kind == "touching" else 6), [r.text for r in readings]
    assert sum(read) >= (5 if kind == "touching" else 6), list(zip(texts, [r.text for r in readings]))


@pytest.mark.parametrize("kind", KINDS)
def test_numbers_by_human_writers_are_split(classifier, strokes_dir, kind):
    # Training writers: the measuring ones (21-30) are the bench's (python -m bench.numbers).
    writers = by_writer(training_digits(strokes_dir))
    rng = np.random.default_rng(3)
    names = sorted(writers)
    split = []
    for n in range(12):
        text = text_of(kind, rng)
        number = write_number(text, writers[names[n % len(names)]], kind, rng)
        split.append(split_right(read_number(classifier, number.picture), number))
    assert sum(split) >= (9 if kind == "touching" else 11)


@pytest.mark.parametrize("kind", ["spaced", "close"])
def test_digits_of_several_strokes_stay_one_digit(classifier, kind):
    for seed in range(4):
        number = written("4575", kind, seed)
        reading = read_number(classifier, number.picture)
        assert reading.text == "4575", seed
        assert split_right(reading, number)


def test_dots_and_dashes_are_told_by_geometry(classifier):
    for seed in range(4):
        decimal = read_number(classifier, written("3.14", "decimal", seed).picture)
        negative = read_number(classifier, written("-42", "negative", seed).picture)
        assert decimal.text == "3.14" and negative.text == "-42"
        dot, dash = decimal.symbols[1], negative.symbols[0]
        assert dot.probabilities is None and dot.top(3) == [(".", 1.0)] and not dot.unsure
        # The dot sits on the baseline, the dash across the middle of the digits beside it.
        three, four = decimal.symbols[0], negative.symbols[1]
        assert dot.box[3] > (three.box[1] + three.box[3]) / 2
        assert four.box[1] < (dash.box[1] + dash.box[3]) / 2 < four.box[3]
    # A 7's crossbar drawn apart crosses its 7: no minus sign.
    assert read_number(classifier, written("77", "spaced", 0).picture).text == "77"


def test_a_blank_picture_reads_as_blank(classifier):
    for picture in (np.full((200, 600), 255, np.uint8), np.zeros((0, 0)), {"composite": None}):
        reading = read_number(classifier, picture)
        assert reading.blank and reading.text == "" and not reading.unsure
        assert reading.as_json() == {"text": "", "blank": True, "unsure": False, "symbols": []}


@pytest.mark.parametrize("shape", [(320, 320), (320, 960), (700, 250)])
def test_a_lone_digit_reads_exactly_as_predict(classifier, shape):
    height, width = shape
    for digit, strokes in STROKES.items():
        canvas = np.full(shape, 255, np.uint8)
        drawn = draw_strokes(strokes, 0.6 * min(shape), (min(shape) / 2, min(shape) / 2), min(shape))
        canvas[: drawn.shape[0], : drawn.shape[1]] = drawn
        value = sketchpad_value(canvas)
        prediction, reading = classifier.predict(value), read_number(classifier, value)
        assert len(reading.symbols) == 1, digit
        symbol = reading.symbols[0]
        assert np.array_equal(symbol.image, prediction.image)  # the same input, to the bit
        # read in a batch with the other candidates: the same up to float32 rounding of another batch size
        assert np.allclose(symbol.probabilities, prediction.probabilities, rtol=0, atol=1e-5)
        assert symbol.unsure == prediction.unsure and reading.unsure == prediction.unsure
        assert [int(s) for s, _ in symbol.top(3)] == [d for d, _ in prediction.top(3)]
        assert reading.text == str(prediction.top(1)[0][0])


def test_a_broad_lone_digit_stays_one_digit(classifier):
    # The examples' 6 drawn 1.6 times as wide: its halves read as two digits would outscore it
    # as one, were the candidate holding all the ink not worth ALL_INK more.
    six = [[(1.6 * x, y) for x, y in stroke] for stroke in STROKES[6]]
    picture = written("6", "single", 6, {6: [six]}).picture
    examined = examine(classifier, picture)
    bonus = number.scores(examined, echo=0) - (examined.features @ number.WEIGHTS + number.BIAS)
    holds_all = [c.first == 0 and c.last == len(examined.lines.pieces) for c in examined.candidates]
    assert np.allclose(bonus, np.where(holds_all, number.ALL_INK, 0.0)) and sum(holds_all) == 1
    assert read_number(classifier, picture).text == "6"
    # Beside a dot, no candidate holds all the ink: nothing gets the bonus.
    decimal = examine(classifier, written("6.5", "decimal", 0).picture)
    assert np.allclose(number.scores(decimal, echo=0), decimal.features @ number.WEIGHTS + number.BIAS)


def test_a_broad_digit_beside_another_is_not_read_as_itself_and_a_sliver(classifier):
    # The examples' 4 drawn 1.4 times as wide, after a 1: cut near its edge, its big part still
    # reads 4 and the sliver another 4, which outscored the whole 4 before `echoes`.
    four = [[(1.4 * x, y) for x, y in stroke] for stroke in STROKES[4]]
    picture = written("14", "spaced", 0, {**HAND, 4: [four]}).picture
    examined = examine(classifier, picture)
    echoing = number.echoes(examined)
    pieces, read = examined.lines.pieces, examined.probabilities.argmax(axis=1)
    for row in np.flatnonzero(echoing):  # each one is a part of one component that reads as the whole
        c = examined.candidates[row]
        (component,) = {p.component for p in pieces[c.first:c.last]}
        span = [i for i, p in enumerate(pieces) if p.component == component]
        whole = next(r for r, w in enumerate(examined.candidates) if (w.first, w.last) == (span[0], span[-1] + 1))
        assert c.last - c.first < len(span) and read[whole] == read[row] == 4
        assert examined.probabilities[whole].max() >= number.ECHO_SURE
    assert echoing.any()
    assert np.allclose(number.scores(examined) - number.scores(examined, echo=0), np.where(echoing, -number.ECHO, 0.0))
    assert number.reading_of(examined, classifier, echo=0).text == "144"
    assert read_number(classifier, picture).text == "14"


def test_the_reading_as_json(classifier):
    number = written("3.14", "decimal", 1)
    answer = read_number(classifier, number.picture).as_json()
    assert json.loads(json.dumps(answer)) == answer
    assert set(answer) == {"text", "blank", "unsure", "symbols"} and answer["text"] == "3.14"
    assert [s["symbol"] for s in answer["symbols"]] == ["3", ".", "1", "4"]
    for symbol, box in zip(answer["symbols"], number.boxes):
        assert set(symbol) == {"symbol", "probability", "box", "top3", "unsure"}
        assert all(isinstance(v, int) for v in symbol["box"]) and len(symbol["box"]) == 4
        x0, y0, x1, y1 = symbol["box"]
        assert 0 <= x0 < x1 <= number.picture.shape[1] and 0 <= y0 < y1 <= number.picture.shape[0]
        assert abs(x0 - box[0]) <= 4 and abs(x1 - box[2]) <= 4
        top3 = symbol["top3"]
        assert 1 <= len(top3) <= 3 and top3[0]["symbol"] == symbol["symbol"] and top3[0]["probability"] == symbol["probability"]
        assert [t["probability"] for t in top3] == sorted((t["probability"] for t in top3), reverse=True)
    assert answer["unsure"] == any(s["unsure"] for s in answer["symbols"])


def test_one_forward_pass_per_network_for_all_candidates(classifier):
    calls = []
    networks = {"segment gate": segment_gate(), "network": classifier, "gate": classifier.gate}
    originals = []
    for label, network in networks.items():
        name = "probabilities" if network is classifier else "digit_probability"
        original = getattr(network, name)
        originals.append((network, name, original))
        setattr(network, name, lambda images, original=original, label=label: calls.append((label, len(images))) or original(images))
    try:
        examined = examine(classifier, written("75650", "close", 2).picture)
    finally:
        for network, name, original in originals:
            setattr(network, name, original)
    # The segment gate reads every candidate first; the network and the gate read those it left.
    assert [label for label, _ in calls] == list(networks)
    assert calls[0][1] >= calls[1][1] == calls[2][1] == len(examined.candidates) > 5


def test_candidates_the_segment_gate_finds_hopeless_are_left_out_and_change_nothing(classifier):
    picture = written("3851", "touching", 0).picture
    examined = examine(classifier, picture)
    pieces = examined.lines.pieces
    for c, whole in zip(examined.candidates, examined.whole):
        assert whole >= number.HOPELESS or c.holds_all(pieces) or c.whole_component(pieces)
    everything = examine(classifier, picture, hopeless=0.0)
    assert len(everything.candidates) > len(examined.candidates)
    assert any(w < number.HOPELESS and not c.whole_component(pieces) for c, w in zip(everything.candidates, everything.whole))
    assert number.reading_of(everything, classifier).text == number.reading_of(examined, classifier).text == "3851"


def test_every_way_in_and_every_size_reads_the_same(classifier):
    number = written("2026", "spaced", 4)
    expected = read_number(classifier, number.picture)
    assert expected.text == "2026"
    encoded = io.BytesIO()
    Image.fromarray(number.picture).save(encoded, format="PNG")
    for picture in (sketchpad_value(number.picture), Image.fromarray(number.picture).convert("RGB"), encoded.getvalue()):
        assert read_number(classifier, picture).text == "2026"
    # Larger than MAX_SIDE: the ink map is shrunk, the boxes still come in the picture's pixels.
    factor = 2 * MAX_SIDE // number.picture.shape[1] + 1
    big = np.kron(number.picture, np.ones((factor, factor), np.uint8))
    reading = read_number(classifier, big)
    assert reading.text == "2026"
    for large, small in zip(reading.symbols, expected.symbols):
        assert all(abs(a - factor * b) <= 2 * factor for a, b in zip(large.box, small.box))


def test_components_are_found_as_a_flood_fill_finds_them():
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.random((int(rng.integers(1, 25)), int(rng.integers(1, 25)))) < rng.uniform(0.1, 0.7)
        labels, count = label_components(mask)
        expected, found = np.zeros(mask.shape, int), 0
        for start in zip(*np.nonzero(mask)):
            if expected[start]:
                continue
            found += 1
            expected[start], stack = found, [start]
            while stack:
                row, col = stack.pop()
                for r in range(max(0, row - 1), min(mask.shape[0], row + 2)):
                    for c in range(max(0, col - 1), min(mask.shape[1], col + 2)):
                        if mask[r, c] and not expected[r, c]:
                            expected[r, c] = found
                            stack.append((r, c))
        assert count == found and ((labels > 0) == mask).all()
        assert len(set(zip(labels[mask], expected[mask]))) == found


def test_the_slant_is_taken_out():
    number = written("1111", "spaced", 0)
    upright = layout(ink_map(number.picture))
    assert abs(upright.slant) < 0.5
    # Slanted neighbours overlap in x on the page, but not once the slant is out.
    sheared = np.full((300, 700), 255, np.uint8)
    for x in (100, 190, 280, 370):
        sheared = np.minimum(sheared, draw_strokes([[(x + 80, 40), (x, 260)]], 220, (x + 40, 150), 700)[:300])
    lines = layout(ink_map(sheared))
    boxes = [p.box for p in lines.pieces]
    assert len(boxes) == 4 and all(a[2] > b[0] for a, b in zip(boxes, boxes[1:]))
    assert lines.slant == pytest.approx(80 / 220, abs=0.08)
    assert all(a.right < b.left for a, b in zip(lines.pieces, lines.pieces[1:]))
