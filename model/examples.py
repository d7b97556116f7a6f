"""The app's example drawings: one digit each, as pen strokes written down by hand.

They are drawn with the app's own brush on a canvas of the app's size, so an example
looks like something a person drew on the pad. The browser test draws the same strokes
with the mouse.

    python -m model.examples     # (re)writes assets/examples/0.png ... 9.png
"""

from __future__ import annotations

from PIL import Image

from model.canvas import CANVAS_SIZE, draw_strokes
from model.paths import EXAMPLES

# Strokes -> points -> (x, y), y down, in a box about 100 wide and 120 tall.
STROKES = {
    0: [[(50, 0), (22, 12), (8, 45), (10, 85), (30, 115), (58, 120), (80, 100), (90, 60), (82, 20), (62, 2), (48, 2)]],
    1: [[(58, 0), (46, 120)]],
    2: [[(10, 28), (28, 6), (55, 0), (78, 10), (85, 32), (72, 58), (10, 120), (92, 118)]],
    3: [[(12, 12), (45, 0), (78, 12), (80, 38), (48, 58), (82, 75), (86, 102), (55, 120), (12, 110)]],
    4: [[(55, 0), (5, 82), (92, 82)], [(72, 35), (72, 125)]],
    5: [[(85, 0), (22, 2), (15, 55), (52, 44), (84, 62), (86, 100), (55, 121), (10, 110)]],
    6: [[(75, 0), (38, 30), (16, 75), (22, 108), (52, 122), (80, 102), (76, 74), (46, 64), (18, 86)]],
    7: [[(5, 5), (90, 5), (38, 122)]],
    8: [[(80, 18), (50, 0), (20, 15), (24, 42), (76, 76), (80, 106), (50, 122), (20, 106), (24, 78), (76, 44), (80, 18)]],
    9: [[(80, 22), (50, 2), (20, 18), (24, 48), (55, 56), (80, 28), (78, 122)]],
}


def example_paths() -> list[str]:
    return [str(EXAMPLES / f"{digit}.png") for digit in STROKES]


def main() -> None:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    centre = (CANVAS_SIZE / 2, CANVAS_SIZE / 2)
    for digit, path in zip(STROKES, example_paths()):
        # 2/3 of the pad: the size people draw at when nothing tells them otherwise
        canvas = draw_strokes(STROKES[digit], height=CANVAS_SIZE * 2 / 3, centre=centre)
        Image.fromarray(canvas).save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
