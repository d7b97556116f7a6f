"""Train a digit classifier on MNIST, with augmentation made for drawings.

    python train.py                      # the shipped CNN: assets/cnn.pt and its report
    python train.py --arch mlp           # the MLP baseline: assets/mlp.pt
    python train.py --quick              # a fast experiment (about 30 s on 2 CPU cores)
    python train.py --data-dir ../shared/data/mnist   # MNIST's four .gz files, no download

The recipe, top to bottom: load MNIST, hold out a validation split, train with batched
tensor augmentation, keep the epoch that scores best on validation, evaluate it once on
the test set, then write the weights, metrics.json and the report plots atomically.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from model.networks import build, count_parameters
from model.preprocess import MNIST_MEAN, MNIST_STD
from model.weights import save_weights, write_atomically

QUICK = {"epochs": 2, "width": 16}  # what --quick changes
CLEAN_SHARE = 0.25  # share of training images left unaugmented
CLOSED_SHARE = 0.3  # share of training images whose small loops and gaps get closed
EMA_DECAY = 0.999  # weight averaging: the evaluated network is a running mean of the trained one


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="cnn", choices=["cnn", "mlp"], help="network to train (default: cnn)")
    parser.add_argument("--epochs", type=int, default=18, help="passes over the training split (default: 18)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per optimisation step (default: 128)")
    parser.add_argument("--lr", type=float, default=4e-3, help="peak learning rate of the one-cycle schedule (default: 4e-3)")
    parser.add_argument("--width", type=int, default=32, help="CNN channels in the first block; later blocks double it (default: 32)")
    parser.add_argument("--val-size", type=int, default=5000, help="training images held out to pick the best epoch (default: 5000)")
    parser.add_argument("--limit", type=int, default=0, help="train on only this many images, for tests and smoke runs (default: all)")
    parser.add_argument("--no-augment", action="store_true", help="train on the plain MNIST images")
    parser.add_argument("--elastic", action="store_true", help="add elastic distortion to the augmentation (slower)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the split, the initial weights and the augmentation (default: 1)")
    parser.add_argument("--data-dir", default="data", help="folder with MNIST's four .gz files, or a torchvision root; downloaded there if absent (default: data)")
    parser.add_argument("--out", default="assets", help="where the weights and the report go (default: assets)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest available)")
    parser.add_argument("--fp32", action="store_true", help="train in full float32 even where bfloat16 autocast is fast")
    parser.add_argument("--quick", action="store_true", help=f"a fast experiment: {QUICK}")
    parser.add_argument("--no-plots", action="store_true", help="skip the matplotlib report plots")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def pick_device(requested: str | None) -> torch.device:
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def fast_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 autocast speeds training up here: CUDA, or a CPU with native bf16 (AVX-512 BF16, AMX).

    On such CPUs it halves the time of an epoch; elsewhere it would emulate bf16 and be slower.
    Evaluation always runs in float32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


# --- Data -------------------------------------------------------------------------------------


def mnist_root(data_dir: str) -> Path:
    """A torchvision root for `data_dir`.

    torchvision looks for <root>/MNIST/raw/*.gz and skips the download when the files are
    there with the right md5. A folder that holds the four .gz files directly is linked
    into ./data/MNIST/raw so the standard loader uses it, offline.
    """
    folder = Path(data_dir)
    archives = sorted(folder.glob("*-ubyte.gz"))
    if not archives:
        return folder
    root = Path("data").resolve()
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        link = raw / archive.name
        if not link.exists():
            link.symlink_to(archive.resolve())
    return root


def load_mnist(data_dir: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """All of MNIST's train or test split as (N x 1 x 28 x 28 float in [0, 1], N labels)."""
    from torchvision.datasets import MNIST

    dataset = MNIST(str(mnist_root(data_dir)), train=train, download=True)
    return dataset.data.unsqueeze(1).float().div_(255), dataset.targets.clone()


# --- Augmentation: batched on tensors, so two CPU cores are never waiting on PIL ----------------


def uniform(generator: torch.Generator, count: int, low: float, high: float) -> torch.Tensor:
    """`count` independent draws from U(low, high)."""
    return torch.rand(count, generator=generator) * (high - low) + low


def augment(images: torch.Tensor, generator: torch.Generator, elastic: bool = False) -> torch.Tensor:
    """Random per-sample affine warp, small loops closed on some, then stroke thinning or thickening.

    Drawn digits differ from MNIST by slant, size, position and stroke width; each of those
    gets its own random draw here, sized to what the canvas preprocessing leaves over.
    """
    n = images.shape[0]
    angle = uniform(generator, n, -15, 15) * math.pi / 180
    scale = uniform(generator, n, 0.85, 1.15)
    shear = uniform(generator, n, -0.25, 0.25)
    shift = torch.stack([uniform(generator, n, -0.12, 0.12), uniform(generator, n, -0.12, 0.12)], dim=1)  # +-1.7 px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output to input coordinates: this is (rotation * shear / scale).
    theta = torch.stack(
        [torch.stack([cos, -sin + cos * shear, shift[:, 0]], 1), torch.stack([sin, cos + sin * shear, shift[:, 1]], 1)],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic:
        noise = torch.rand(n, 2, 28, 28, generator=generator) * 2 - 1
        smooth = F.avg_pool2d(F.avg_pool2d(noise, 7, 1, 3), 7, 1, 3)  # a smooth random field
        grid = grid + smooth.permute(0, 2, 3, 1) * 0.5
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    closed = torch.rand(n, generator=generator) < CLOSED_SHARE
    warped = torch.where(closed.view(n, 1, 1, 1), close_small_gaps(warped), warped)

    # Stroke width: blend towards a 3x3 dilation (thicker) or erosion (thinner).
    amount = uniform(generator, n, -0.7, 1.0).view(n, 1, 1, 1)
    target = torch.where(amount > 0, dilate(warped), erode(warped))
    augmented = warped + amount.abs() * (target - warped)
    # A quarter of each batch skips all of this, so that the network still learns MNIST's own
    # shapes exactly (about +0.1 % on the MNIST test set).
    clean = (torch.rand(n, generator=generator) < CLEAN_SHARE).view(n, 1, 1, 1)
    return torch.where(clean, images, augmented)


def dilate(images: torch.Tensor) -> torch.Tensor:
    """Grey-level 3x3 dilation: every stroke 2 px thicker."""
    return F.max_pool2d(images, 3, 1, 1)


def erode(images: torch.Tensor) -> torch.Tensor:
    """Grey-level 3x3 erosion: every stroke 2 px thinner."""
    return -F.max_pool2d(-images, 3, 1, 1)


def close_small_gaps(images: torch.Tensor) -> torch.Tensor:
    """Morphological closing (3x3 dilation, then 3x3 erosion): fills holes and gaps of 1-2 px.

    A digit drawn small with a fat brush has its small loops and gaps filled on the canvas
    already, and preprocessing thins the strokes back but cannot reopen them (a 9 whose loop
    filled in looks like a 3). Closing makes the same change to an MNIST digit, stroke width kept.
    """
    return erode(dilate(images))


def segments(starts: torch.Tensor, ends: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """Anti-aliased straight strokes on 28x28 fields: one per row of starts/ends ((row, col) pairs)."""
    grid = torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), dim=-1).view(1, 28, 28, 2)
    a, b = starts.view(-1, 1, 1, 2), ends.view(-1, 1, 1, 2)
    along = ((grid - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1).clamp(min=1e-6)
    nearest = a + along.clamp(0, 1).unsqueeze(-1) * (b - a)
    distance = (grid - nearest).norm(dim=-1)
    return (widths.view(-1, 1, 1) / 2 + 0.5 - distance).clamp(0, 1)


def add_continental_strokes(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Give some 1s a flag (and a foot) and some 7s a crossbar, as much of the world writes them.

    MNIST was written by Americans: its 1s are bare strokes and its 7s are rarely crossed,
    so a network trained on it reads a flagged 1 as a 7 and a crossed 7 as a 2. Measured on
    drawn digits, those two mix-ups were half of all errors. This draws the missing strokes
    onto MNIST's own digits: at the top of a 1 a short stroke down to the left, sometimes a
    bar at its foot; across the middle of a 7 a short, nearly level bar.
    """
    images = images.clone()
    n = len(images)
    chosen = torch.rand(n, generator=generator) < 0.5
    for digit in (1, 7):
        index = torch.nonzero(chosen & (labels == digit)).flatten()
        if len(index) == 0:
            continue
        ink = images[index, 0] > 0.5
        rows_with_ink = ink.any(dim=2)
        top = rows_with_ink.float().argmax(dim=1)
        bottom = 27 - rows_with_ink.flip(1).float().argmax(dim=1)
        height = (bottom - top + 1).float()

        k = len(index)

        def ink_column(row, members=torch.arange(k)):  # the middle of the ink in that row of each digit
            line = ink[members, row.long()].float()
            return (line * torch.arange(28.0)).sum(1) / line.sum(1).clamp(min=1)

        if digit == 1:
            start = torch.stack([top.float(), ink_column(top)], dim=1)
            angle = uniform(generator, k, 20, 60) * math.pi / 180  # below the horizontal, pointing left
            length = height * uniform(generator, k, 0.3, 0.7)
            end = start + torch.stack([torch.sin(angle), -torch.cos(angle)], dim=1) * length[:, None]
            strokes = segments(start, end, uniform(generator, k, 1.8, 3.0))
            foot = torch.nonzero(torch.rand(k, generator=generator) < 0.3).flatten()
            if len(foot):
                middle = torch.stack([bottom[foot].float(), ink_column(bottom[foot], foot)], dim=1)
                half = (height[foot] * uniform(generator, len(foot), 0.15, 0.3))[:, None] * torch.tensor([[0.0, 1.0]])
                strokes[foot] = torch.maximum(strokes[foot], segments(middle - half, middle + half, uniform(generator, len(foot), 1.8, 3.0)))
        else:
            row = top.float() + height * uniform(generator, k, 0.45, 0.6)
            middle = torch.stack([row, ink_column(row.round())], dim=1)
            tilt = uniform(generator, k, -12, 12) * math.pi / 180
            half = (height * uniform(generator, k, 0.15, 0.28))[:, None] * torch.stack([torch.sin(tilt), torch.cos(tilt)], dim=1)
            strokes = segments(middle - half, middle + half, uniform(generator, k, 1.8, 3.0))
        images[index, 0] = torch.maximum(images[index, 0], strokes)
    return images


# --- Training and evaluation ----------------------------------------------------------------


def normalize(images: torch.Tensor) -> torch.Tensor:
    return (images - MNIST_MEAN) / MNIST_STD


def train_one_epoch(network, average, optimizer, schedule, images, labels, args, generator, device, epoch) -> tuple[float, float]:
    network.train()
    order = torch.randperm(len(images), generator=generator)
    total_loss = correct = seen = 0
    batches = tqdm(range(0, len(images), args.batch_size), desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False)
    for start in batches:
        index = order[start : start + args.batch_size]
        batch, target = images[index], labels[index]
        if not args.no_augment:
            batch = augment(add_continental_strokes(batch, target, generator), generator, args.elastic)
        batch = normalize(batch).to(device, memory_format=torch.channels_last)
        target = target.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            logits = network(batch)
            loss = F.cross_entropy(logits.float(), target, label_smoothing=0.05)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        update_average(average, network, step=schedule.last_epoch)
        total_loss += loss.item() * len(index)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(index)
        batches.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}")
    return total_loss / seen, correct / seen


@torch.no_grad()
def update_average(average: nn.Module, network: nn.Module, step: int) -> None:
    """average <- decay * average + (1 - decay) * network, for weights and BatchNorm statistics.

    The decay ramps up from 0.1 over the first steps, so short runs average too.
    """
    decay = min(EMA_DECAY, (1 + step) / (10 + step))
    for mean, current in zip(average.state_dict().values(), network.state_dict().values()):
        if mean.dtype.is_floating_point:
            mean.lerp_(current, 1 - decay)
        else:
            mean.copy_(current)


@torch.inference_mode()
def evaluate(network, images, labels, device, batch_size=1000) -> tuple[float, torch.Tensor]:
    """Mean loss and the predicted label of every image."""
    network.eval()
    losses, predictions = [], []
    for start in range(0, len(images), batch_size):
        logits = network(normalize(images[start : start + batch_size]).to(device)).cpu()
        losses.append(F.cross_entropy(logits, labels[start : start + batch_size], reduction="sum"))
        predictions.append(logits.argmax(1))
    return float(sum(losses)) / len(images), torch.cat(predictions)


def main(argv=None) -> dict:
    args = parse_args(argv)
    command = shlex.join(["python", "train.py", *(sys.argv[1:] if argv is None else argv)])
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    device = pick_device(args.device)
    args.bf16 = not args.fp32 and fast_bfloat16(device)
    started = time.perf_counter()

    train_images, train_labels = load_mnist(args.data_dir, train=True)
    test_images, test_labels = load_mnist(args.data_dir, train=False)
    order = torch.randperm(len(train_images), generator=generator)
    val_index, fit_index = order[: args.val_size], order[args.val_size :]
    if args.limit:
        fit_index = fit_index[: args.limit]
    fit_images, fit_labels = train_images[fit_index], train_labels[fit_index]
    val_images, val_labels = train_images[val_index], train_labels[val_index]

    arch_kwargs = {"width": args.width} if args.arch == "cnn" else {}
    # channels_last lets oneDNN pick its fastest CPU convolutions (about 15 % here).
    network = build(args.arch, **arch_kwargs).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * math.ceil(len(fit_images) / args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    # An exponential moving average of the weights (and BatchNorm statistics) is what gets
    # evaluated and saved: it smooths out the noise of the last steps, for free at inference.
    average = copy.deepcopy(network)
    print(f"{args.arch}: {count_parameters(network):,} parameters on {device}{' (bfloat16 autocast)' if args.bf16 else ''}; "
          f"{len(fit_images)} training, {len(val_images)} validation, {len(test_images)} test images")

    history, best_state, best_accuracy = [], None, -1.0
    for epoch in range(1, args.epochs + 1):
        train_loss, train_accuracy = train_one_epoch(
            network, average, optimizer, schedule, fit_images, fit_labels, args, generator, device, epoch
        )
        val_loss, val_predictions = evaluate(average, val_images, val_labels, device)
        val_accuracy = (val_predictions == val_labels).float().mean().item()
        history.append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                        "val_loss": val_loss, "val_accuracy": val_accuracy})
        print(f"epoch {epoch}: train loss {train_loss:.4f} acc {train_accuracy:.4f} | "
              f"val loss {val_loss:.4f} acc {val_accuracy:.4f}", flush=True)
        if val_accuracy > best_accuracy:  # the validation split, never the test set, picks the model
            best_accuracy, best_state = val_accuracy, copy.deepcopy(average.state_dict())
    network.load_state_dict(best_state)
    training_seconds = time.perf_counter() - started

    # The test set is used once, here, at the very end.
    test_loss, test_predictions = evaluate(network, test_images, test_labels, device)
    test_accuracy = (test_predictions == test_labels).float().mean().item()
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((test_labels, test_predictions), torch.ones_like(test_labels), accumulate=True)
    per_class = (confusion.diag().float() / confusion.sum(1).float()).tolist()
    print(f"test accuracy {test_accuracy:.4%} ({int((test_predictions != test_labels).sum())} errors), "
          f"{training_seconds:.0f} s")

    network.to("cpu", memory_format=torch.contiguous_format)
    metadata = {
        "arch": args.arch,
        "arch_kwargs": arch_kwargs,
        "mean": MNIST_MEAN,
        "std": MNIST_STD,
        "test_accuracy": test_accuracy,
        "val_accuracy": best_accuracy,
        "parameters": count_parameters(network),
        "command": command,
        "seed": args.seed,
        "torch_version": torch.__version__,
    }
    metrics = {
        **metadata,
        "test_loss": test_loss,
        "test_errors": int((test_predictions != test_labels).sum()),
        "per_class_accuracy": {str(d): a for d, a in enumerate(per_class)},
        "confusion_matrix": confusion.tolist(),
        "training_seconds": round(training_seconds, 1),
        "device": str(device),
        "history": history,
        "versions": library_versions(),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_weights(out / f"{args.arch}.pt", network, metadata)
    write_atomically(out / f"{args.arch}_metrics.json", lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    if not args.no_plots:
        write_report_plots(out, args.arch, history, confusion, test_images, test_labels, test_predictions)
    print(f"wrote {out / (args.arch + '.pt')} and its report to {out}/")
    return metrics


# --- Report plots -------------------------------------------------------------------------------


def write_report_plots(out: Path, arch: str, history, confusion, images, labels, predictions) -> None:
    """Curves, confusion matrix, sample predictions and the misclassified digits, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    def save(figure, name):
        write_atomically(out / f"{arch}_{name}.png", lambda f: figure.savefig(f, format="png", dpi=80))
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

    grid(list(range(40)), "sample test predictions", "samples")
    wrong = torch.nonzero(predictions != labels).flatten().tolist()
    grid(wrong[:60], f"misclassified test digits: true→predicted ({len(wrong)} in all)", "misclassified")


def library_versions() -> dict:
    import PIL
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "cpu_count": os.cpu_count()}


if __name__ == "__main__":
    main()
