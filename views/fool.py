"""The Fool it view: change the drawing a little so that a network reads the digit you pick,
then see whether the same trick fools the other networks.

For the pad's drawing, the network picked and a target digit (model/fool.py does the attack):
the picture it read, the change as a signed map, the changed picture, the network's new top 3,
how many pixels changed and by how much; then every other registry network's reading of the
changed picture. /fool(image, target, network) gives the same for scripts.
"""

from __future__ import annotations

import html
import math
import numbers

import gradio as gr
import numpy as np

from model import Classifier
from model.fool import Fooled, fool
from model.preprocess import to_mnist
from model.registry import DEFAULT
from views.api import opened
from views.pictures import enlarge, img, ink, signed
from views.uploads import ImageUpload

PICTURE_WIDTH = 168  # 28 x 6
HINT = "Draw a digit on the pad, then pick the digit the network should read instead."


def top3_json(probabilities: np.ndarray) -> list[dict]:
    """[{"digit": 3, "probability": 0.71}, ...], as /predict gives its top 3."""
    order = np.argsort(-probabilities, kind="stable")[:3]
    return [{"digit": int(d), "probability": round(float(probabilities[d]), 6)} for d in order]


def fool_and_transfer(classifiers: dict[str, Classifier], name: str, image28: np.ndarray, target: int) -> tuple[Fooled, dict]:
    """The attack on network `name`, and {other network: its probabilities for the fooled picture}."""
    fooled = fool(classifiers[name], image28, target)
    others = {other: classifier.probabilities(fooled.picture[None])[0]
              for other, classifier in classifiers.items() if other != name}
    return fooled, others


def figure(picture: str, caption: str) -> str:
    return (f'<figure style="display: inline-block; margin: 0 12px 8px 0; vertical-align: top">{picture}'
            f'<figcaption style="font-size: 0.85em; max-width: 14em">{html.escape(caption)}</figcaption></figure>')


def pictures_html(fooled: Fooled) -> str:
    peak = float(np.abs(fooled.change).max())
    return "".join([
        figure(img(ink(fooled.original), "the picture the network read", PICTURE_WIDTH, "original"), "What it read"),
        figure(img(enlarge(signed(fooled.change), 6), "the change", PICTURE_WIDTH, "change"),
               f"The change: red = ink added, blue = ink taken away (full colour = {peak:.2f})"),
        figure(img(ink(fooled.picture), "the changed picture", PICTURE_WIDTH, "fooled"), "The changed picture"),
    ])


def verdict_markdown(fooled: Fooled, title: str) -> str:
    (digit, probability), = fooled.top(1)
    if fooled.steps == 0 and fooled.reads_target:
        return f"The {title} already reads a **{fooled.target}** ({probability:.0%}): pick another digit."
    size = (f"**{fooled.changed_pixels}** of 784 pixels changed, the largest by {np.abs(fooled.change).max():.2f} "
            f"(on a 0–1 scale); the whole change measures **{fooled.l2:.2f}** (L2), the picture itself "
            f"{np.linalg.norm(fooled.original):.1f}.")
    if fooled.reads_target:
        return f"✅ **The {title} now reads a {fooled.target}** ({probability:.0%}) after {fooled.steps} small steps. {size}"
    return (f"🛡️ **The {title} held out:** after {fooled.steps} steps it reads a {digit} ({probability:.0%}), "
            f"a {fooled.target} {fooled.probabilities[fooled.target]:.0%}. {size}")


def transfer_markdown(fooled: Fooled, others: dict[str, np.ndarray], classifiers: dict[str, Classifier]) -> str:
    if not others:
        return ""
    lines = [f"**Does the trick fool the others?** The changed picture, read by every other network:", "",
             "| network | reads the drawing as | reads the changed picture as | fooled too? |", "|---|---|---|---|"]
    for name, probabilities in others.items():
        before = classifiers[name].probabilities(fooled.original[None])[0]
        after = int(probabilities.argmax())
        lines.append(f"| {classifiers[name].spec.title} | {int(before.argmax())} ({before.max():.0%}) | "
                     f"**{after}** ({probabilities.max():.0%}) | {'yes' if after == fooled.target else 'no'} |")
    return "\n".join(lines)


class FoolView:
    def __init__(self, classifiers: dict[str, Classifier]):
        self.classifiers = classifiers
        names = list(classifiers)
        self.network = gr.Radio([(c.spec.title, name) for name, c in classifiers.items()],
                                value=DEFAULT if DEFAULT in classifiers else (names[0] if names else None),
                                label="The network to fool", elem_id="fool-net")
        self.target = gr.Radio([str(d) for d in range(10)], value=None, label="Make it read a …", elem_id="fool-target")
        gr.Markdown("A small change of the 28×28 picture, found by following the network's own gradient, step by step, "
                    "until it reads the digit you picked. To you it is still your digit.")
        self.verdict = gr.Markdown(HINT, elem_id="fool-verdict")
        self.pictures = gr.HTML(elem_id="fool-pictures")
        self.top3 = gr.Label(num_top_classes=3, label="Its top 3 for the changed picture", elem_id="fool-top3")
        self.others = gr.Markdown(elem_id="fool-others")
        self.inputs = [self.network, self.target]
        self.outputs = [self.verdict, self.pictures, self.top3, self.others]

    def show(self, image, network: str | None, target: str | None) -> list:
        classifier = self.classifiers.get(network)
        try:
            image28 = to_mnist(image) if image is not None else None
        except ValueError as error:
            return [f"⚠️ This drawing could not be read: {error}", "", None, ""]
        if classifier is None or image28 is None:
            return [HINT, "", None, ""]
        if target in (None, ""):
            reading = classifier.probabilities(image28[None])[0]
            return [f"The {classifier.spec.title} reads a **{int(reading.argmax())}** ({reading.max():.0%}). "
                    "Pick the digit it should read instead.", figure(img(ink(image28), "the picture the network read",
                                                                           PICTURE_WIDTH, "original"), "What it read"),
                    None, ""]
        fooled, others = fool_and_transfer(self.classifiers, network, image28, int(target))
        return [verdict_markdown(fooled, classifier.spec.title), pictures_html(fooled),
                {str(d): p for d, p in fooled.top(3)}, transfer_markdown(fooled, others, self.classifiers)]


def fool_json(classifiers: dict[str, Classifier], image, target, network: str) -> dict:
    """/fool's answer for a picture: {"fooled", "top3", "changed_pixels", "l2", "others": {network: top3}}.
    A ValueError says what is wrong with the target, the network or the picture."""
    if (isinstance(target, bool) or not isinstance(target, numbers.Real) or not math.isfinite(target)
            or target != int(target) or not 0 <= target <= 9):
        raise ValueError(f"target must be a digit from 0 to 9, not {target!r}")
    if network not in classifiers:
        raise ValueError(f"unknown network {network!r}; choose one of {', '.join(classifiers)}")
    image28 = to_mnist(image)
    if image28 is None:
        raise ValueError("there is no digit in the picture (it is blank), so there is nothing to change")
    fooled, others = fool_and_transfer(classifiers, network, image28, int(target))
    return {"fooled": fooled.reads_target, "top3": top3_json(fooled.probabilities), "changed_pixels": fooled.changed_pixels,
            "l2": round(fooled.l2, 4), "others": {name: top3_json(probabilities) for name, probabilities in others.items()}}


def build_api(classifiers: dict[str, Classifier]) -> None:
    """/fool for scripts: no UI of its own."""

    def fool_file(image: str | None, target, network: str | None) -> dict:
        """/fool(image, target, network="cnn"): change the picture a little until `network` reads `target`.

        {"fooled": true, "top3": [{"digit": 3, "probability": 0.62}, ...], "changed_pixels": 530, "l2": 1.4,
         "others": {"mlp": [...top3...], "numpy": [...]}}: the network's top 3 for the changed picture, how many
        of its 784 pixels changed and the change's size (L2, pixels on a 0-1 scale), and every other
        network's top 3 for the same changed picture.
        """
        picture = opened(image)
        try:
            return fool_json(classifiers, picture, target, network or DEFAULT)
        except ValueError as error:
            raise gr.Error(f"{error}.", print_exception=False) from None

    image = ImageUpload(label="image", visible=False)  # /predict's upload path: no stray file per call
    target = gr.Number(label="target", visible=False)  # no precision: Gradio would round 3.5 to 4 silently
    network = gr.Textbox(DEFAULT, label="network", visible=False)
    answer = gr.JSON(label="fooled", visible=False)
    gr.Button(visible=False).click(fool_file, [image, target, network], answer, api_name="fool")
