"""Every folder the project reads or writes, named once.

The shipped weights and plots live in assets/ (committed). Data for development and
measuring (MNIST's .gz files, human pen strokes) is read from ../shared/data when it is
there; nothing in it is ever committed. What the app and train.py make at run time goes
under data/, which git ignores.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
EXAMPLES = ASSETS / "examples"

# Read-only data beside the repository (see ../shared/data/README.md); absent on a Space.
SHARED_DATA = ROOT.parent / "shared" / "data"
SHARED_MNIST = SHARED_DATA / "mnist"
SHARED_STROKES = SHARED_DATA / "strokes"
# The pen-stroke writers, split once, here: writers 01-20 may be trained and tuned on;
# writers 21-30 only measure (every figure on drawn digits), and nothing learns from them.
TRAINING_WRITERS = tuple(f"pendigits-tra-w{n:02d}" for n in range(1, 21))
MEASURING_WRITERS = tuple(f"pendigits-tra-w{n:02d}" for n in range(21, 31))

# Written at run time, ignored by git: MNIST downloads, the class's drawings and weights.
DATA = ROOT / "data"
