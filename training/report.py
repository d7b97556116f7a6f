"""The report plots of a training run, as PNGs: what the docs and a class look at.

    write_report_plots(folder, "cnn", history, confusion, test_images, test_labels, predictions)

writes <arch>_curves.png, _confusion.png, _samples.png and _misclassified.png into `folder`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

PLOTS = ("curves", "confusion", "samples", "misclassified")
DPI = 80
SAMPLES = 40  # test digits shown with their reading
MISTAKES = 60  # at most this many misread test digits shown


def write_report_plots(folder: Path, arch: str, history: list[dict], confusion: torch.Tensor,
                       images: torch.Tensor, labels: torch.Tensor, predictions: torch.Tensor) -> None:
    """Curves, confusion matrix, sample predictions and the misclassified digits."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    def save(figure, name):
        figure.savefig(folder / f"{arch}_{name}.png", format="png", dpi=DPI)
        plt.close(figure)

    epochs = [h["epoch"] for h in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(9, 3.5))
    for split in ("train", "val"):
        loss_axes.plot(epochs, [h[f"{split}_loss"] for h in history], "o-", label=split)
        accuracy_axes.plot(epochs, [h[f"{split}_accuracy"] for h in history], "o-", label=split)
    loss_axes.set(title="loss", xlabel="epoch")
    accuracy_axes.set(title="accuracy", xlabel="epoch")
    for axes in (loss_axes, accuracy_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    save(figure, "curves")

    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.imshow(confusion.numpy(), cmap="Blues", norm=matplotlib.colors.LogNorm(vmin=1))
    for (row, col), count in np.ndenumerate(confusion.numpy()):
        if count:
            axes.text(col, row, count, ha="center", va="center", fontsize=7, color="white" if row == col else "black")
    axes.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title="test confusion matrix")
    figure.tight_layout()
    save(figure, "confusion")

    def grid(indices, title, name):
        columns = 10
        rows = max(1, math.ceil(len(indices) / columns))
        figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05 + 0.4), squeeze=False)
        for axis in axes.flat:
            axis.axis("off")
        for axis, i in zip(axes.flat, indices):
            axis.imshow(images[i, 0].numpy(), cmap="gray_r")
            wrong = predictions[i] != labels[i]
            axis.set_title(f"{int(labels[i])}→{int(predictions[i])}" if wrong else f"{int(predictions[i])}",
                           fontsize=9, color="red" if wrong else "black")
        figure.suptitle(title)
        figure.tight_layout()
        save(figure, name)

    grid(list(range(SAMPLES)), "sample test predictions", "samples")
    wrong = torch.nonzero(predictions != labels).flatten().tolist()
    grid(wrong[:MISTAKES], f"misclassified test digits: true→predicted ({len(wrong)} in all)", "misclassified")
