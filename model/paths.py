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

# Written at run time, ignored by git: MNIST downloads, the class's drawings and weights.
DATA = ROOT / "data"
