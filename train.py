"""Train a digit classifier on MNIST and human pen strokes, with augmentation made for drawings.

    python train.py --data-dir ../shared/data/mnist               # the shipped CNN: assets/cnn.pt and its report
    python train.py --arch mlp --data-dir ../shared/data/mnist    # the MLP baseline: assets/mlp.pt
    python train.py --arch numpy --data-dir ../shared/data/mnist  # the numpy two-layer net: assets/numpy.npz
    python train.py --quick --out /tmp/quick                      # a fast experiment (about 30 s on 2 CPU cores)

Top to bottom: the arguments; the data (MNIST, checked by md5, with a validation split, and
renderings of the training writers' pen strokes, training/strokes.py); the network and its
optimiser; the loop (augmented batches, MNIST and strokes mixed; the epoch that scores best
on validation is kept); one evaluation on the test set; saving the weights, metrics.json
and the report plots as one set. --arch takes any network of model/registry.py. Without
../shared/data/strokes it trains on MNIST alone, and says so.
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
from tqdm import tqdm

from training import outputs
from training.augment import augment_batch
from classroom.store import read_class_set
from training.mnist import DataError, load_mnist
from model import registry
from model.networks import count_parameters
from model.numpy_net import cross_entropy
from model.paths import ASSETS, DATA, SHARED_STROKES
from model.machine import pick_device
from model.preprocess import MNIST_MEAN, MNIST_STD, normalize
from model.weights import save_weights
from training.report import PLOTS, write_report_plots
from training.strokes import MAX_VARIANTS, StrokeDigits, training_digits, writer_range

QUICK = {"epochs": 2, "width": 16, "stroke_variants": 1}  # what --quick changes
EMA_DECAY = 0.999  # weight averaging: the evaluated torch network is a running mean of the trained one
LABEL_SMOOTHING = 0.05  # targets of 0.95 + 0.005 instead of 1: less overconfident on odd drawings
WEIGHT_DECAY = 5e-4
WARMUP_SHARE = 0.2  # one-cycle schedule: the learning rate climbs for this share of the steps, then anneals
STROKE_SHARE = 0.15  # of every epoch's images: renderings of the training writers' pen strokes


# --- Arguments ----------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=registry.DEFAULT, choices=list(registry.NETWORKS),
                        help=f"network to train, from model/registry.py (default: {registry.DEFAULT})")
    parser.add_argument("--epochs", type=int, default=18, help="passes over the training split (default: 18)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per optimisation step (default: 128)")
    parser.add_argument("--lr", type=float, default=4e-3, help="peak learning rate of the one-cycle schedule (default: 4e-3)")
    parser.add_argument("--width", type=int, default=32, help="networks with a width option (cnn): channels in the first block; later blocks double it (default: 32)")
    parser.add_argument("--hidden", type=int, default=800, help="networks with a hidden option (numpy): hidden units (default: 800)")
    parser.add_argument("--val-size", type=int, default=5000, help="training images held out to pick the best epoch (default: 5000)")
    parser.add_argument("--limit", type=int, default=0, help="train on only this many images, for tests and smoke runs (default: all)")
    parser.add_argument("--no-augment", action="store_true", help="train on the plain MNIST images")
    parser.add_argument("--elastic", action="store_true", help="add elastic distortion to the augmentation (slower)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the split, the initial weights and the augmentation (default: 1)")
    parser.add_argument("--data-dir", default=str(DATA / "mnist"),
                        help="folder with MNIST's four .gz files (or a torchvision root); downloaded there when absent (default: data/mnist)")
    parser.add_argument("--extra-data", metavar="PATH", default=None,
                        help="also train on a class set exported from the class board (its zip, or the folder it unpacks to)")
    parser.add_argument("--strokes", type=Path, default=SHARED_STROKES, metavar="FOLDER",
                        help="folder of pen-stroke .jsonl files; only the training writers are read; without it MNIST alone (default: ../shared/data/strokes)")
    parser.add_argument("--stroke-share", type=float, default=STROKE_SHARE, metavar="SHARE",
                        help=f"share of every epoch's images that are rendered pen strokes; 0 for MNIST alone (default: {STROKE_SHARE})")
    parser.add_argument("--stroke-writers", type=writer_range, default=writer_range("1-20"), metavar="WRITERS",
                        help="training writers to render, as 1-16 or 1,3,17-20, to tune with some held out (default: 1-20, all)")
    parser.add_argument("--stroke-variants", type=int, default=MAX_VARIANTS, metavar="N",
                        help=f"most renderings made of each stroke digit, up front (default: {MAX_VARIANTS})")
    parser.add_argument("--out", default=str(ASSETS), help="where the weights and the report go (default: assets)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu for torch networks (default: the fastest available)")
    parser.add_argument("--fp32", action="store_true", help="train in full float32 even where bfloat16 autocast is fast")
    parser.add_argument("--quick", action="store_true", help=f"a fast experiment: {QUICK}")
    parser.add_argument("--no-plots", action="store_true", help="skip the matplotlib report plots")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if not 0 <= args.stroke_share < 1:
        parser.error("--stroke-share is a share of every epoch's images: at least 0, below 1")
    return args


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


# --- The two kinds of network: what differs between a torch and a numpy one -----------------------


class TorchLearner:
    """A torch network trained with AdamW and a one-cycle schedule; its weight average is what counts."""

    def __init__(self, spec: registry.Spec, arch_kwargs: dict, args: argparse.Namespace, steps: int, device: torch.device):
        # channels_last lets oneDNN pick its fastest CPU convolutions.
        self.network = spec.build(**arch_kwargs).to(device, memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=args.lr, weight_decay=WEIGHT_DECAY)
        # At least two warm-up steps: OneCycleLR divides by (pct_start * steps - 1), zero at 5 steps.
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=args.lr, total_steps=steps,
                                                            pct_start=max(WARMUP_SHARE, 2 / steps))
        # An exponential moving average of the weights (and BatchNorm statistics) is what gets
        # evaluated and saved: it smooths out the noise of the last steps, for free at inference.
        self.average = copy.deepcopy(self.network)
        self.device, self.bf16 = device, args.bf16
        self.parameters = count_parameters(self.network)

    def step(self, batch: torch.Tensor, target: torch.Tensor) -> tuple[float, torch.Tensor]:
        """One optimisation step on a normalised batch; returns the loss and the predicted labels."""
        self.network.train()
        batch, target = batch.to(self.device, memory_format=torch.channels_last), target.to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.network(batch)
            loss = F.cross_entropy(logits.float(), target, label_smoothing=LABEL_SMOOTHING)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        self.update_average(step=self.schedule.last_epoch)
        return loss.item(), logits.argmax(1).cpu()

    @torch.no_grad()
    def update_average(self, step: int) -> None:
        """average <- decay * average + (1 - decay) * network, for weights and BatchNorm statistics.

        The decay ramps up from 0.1 over the first steps, so short runs average too.
        """
        decay = min(EMA_DECAY, (1 + step) / (10 + step))
        for mean, current in zip(self.average.state_dict().values(), self.network.state_dict().values()):
            if mean.dtype.is_floating_point:
                mean.lerp_(current, 1 - decay)
            else:
                mean.copy_(current)

    @torch.inference_mode()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """The averaged network's float32 logits for a normalised batch, on the CPU."""
        self.average.eval()
        return self.average(images.to(self.device)).cpu()

    def keep_best(self) -> None:
        self.best = copy.deepcopy(self.average.state_dict())

    def restore_best(self) -> None:
        self.average.load_state_dict(self.best)

    def save(self, path: Path, metadata: dict) -> None:
        save_weights(path, self.average.to("cpu", memory_format=torch.contiguous_format), metadata)


class NumpyLearner:
    """model.numpy_net.TwoLayerNet: forward, backward and the Adam update are its own numpy code."""

    def __init__(self, spec: registry.Spec, arch_kwargs: dict, args: argparse.Namespace, steps: int, device: torch.device):
        self.network = spec.build(**arch_kwargs, seed=args.seed)
        self.lr, self.steps = args.lr, steps
        # Here torch only augments small batches between numpy's matrix products. With more
        # than one thread, torch's OpenMP workers and OpenBLAS's workers take turns spinning
        # on the same cores, and each waits for the other; one torch thread leaves the cores
        # to the BLAS, where the work is.
        torch.set_num_threads(1)
        self.parameters = sum(value.size for value in self.network.params.values())

    def step(self, batch: torch.Tensor, target: torch.Tensor) -> tuple[float, torch.Tensor]:
        x = batch.numpy().reshape(len(batch), -1)
        logits = self.network.forward(x, remember=True)
        loss, dlogits = cross_entropy(logits, target.numpy(), smoothing=LABEL_SMOOTHING)
        grads = self.network.backward(dlogits)
        self.network.step(grads, lr=one_cycle(self.network.steps, self.steps, self.lr), weight_decay=WEIGHT_DECAY)
        return loss, torch.from_numpy(logits.argmax(1))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.network.forward(images.numpy().reshape(len(images), -1)))

    def keep_best(self) -> None:
        self.best = {name: value.copy() for name, value in self.network.params.items()}

    def restore_best(self) -> None:
        self.network.params = self.best

    def save(self, path: Path, metadata: dict) -> None:
        save_weights(path, self.network, metadata)


LEARNERS = {"torch": TorchLearner, "numpy": NumpyLearner}  # by registry engine


def one_cycle(step: int, total: int, peak: float) -> float:
    """The learning rate at `step`: torch's OneCycleLR shape (from peak/25 up to peak, then a
    cosine down to peak/25e4), written out for the numpy net, which has no torch optimiser."""
    start, end, rise = peak / 25, peak / 25e4, WARMUP_SHARE * total
    if step < rise:
        return start + (peak - start) * (1 - math.cos(math.pi * step / rise)) / 2
    return end + (peak - end) * (1 + math.cos(math.pi * (step - rise) / max(1.0, total - rise))) / 2


# --- The loop and evaluation ---------------------------------------------------------------------


def train_one_epoch(learner, images, labels, args, generator, epoch) -> tuple[float, float]:
    order = torch.randperm(len(images), generator=generator)
    total_loss = correct = seen = 0
    batches = tqdm(range(0, len(images), args.batch_size), desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False)
    for start in batches:
        index = order[start : start + args.batch_size]
        batch, target = images[index], labels[index]
        if not args.no_augment:
            batch = augment_batch(batch, target, generator, args.elastic)
        loss, predicted = learner.step(normalize(batch), target)
        total_loss += loss * len(index)
        correct += (predicted == target).sum().item()
        seen += len(index)
        batches.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}")
    return total_loss / seen, correct / seen


def evaluate(learner, images, labels, batch_size=1000) -> tuple[float, torch.Tensor]:
    """Mean loss and the predicted label of every image."""
    losses, predictions = [], []
    for start in range(0, len(images), batch_size):
        logits = learner.logits(normalize(images[start : start + batch_size]))
        losses.append(F.cross_entropy(logits, labels[start : start + batch_size], reduction="sum"))
        predictions.append(logits.argmax(1))
    return float(sum(losses)) / len(images), torch.cat(predictions)


def main(argv=None) -> dict:
    args = parse_args(argv)
    spec = registry.spec(args.arch)
    command = shlex.join(["python", "train.py", *(sys.argv[1:] if argv is None else argv)])
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    device = pick_device(args.device)
    args.bf16 = spec.engine == "torch" and not args.fp32 and fast_bfloat16(device)
    started = time.perf_counter()

    # Data: MNIST's files are checked by md5 before use; 5,000 training images pick the epoch.
    try:
        train_images, train_labels = load_mnist(args.data_dir, train=True)
        test_images, test_labels = load_mnist(args.data_dir, train=False)
    except DataError as error:
        raise SystemExit(f"train.py: {error}") from None
    order = torch.randperm(len(train_images), generator=generator)
    val_index, fit_index = order[: args.val_size], order[args.val_size :]
    if args.limit:
        fit_index = fit_index[: args.limit]
    fit_images, fit_labels = train_images[fit_index], train_labels[fit_index]
    val_images, val_labels = train_images[val_index], train_labels[val_index]
    trained_on = {"mnist": len(fit_index)}
    if args.extra_data:  # the class's own handwriting: training only, never validation or test
        extra_images, extra_labels = read_class_set(args.extra_data)
        fit_images = torch.cat([fit_images, torch.from_numpy(extra_images).unsqueeze(1)])
        fit_labels = torch.cat([fit_labels, torch.from_numpy(extra_labels)])
        trained_on["class_set"] = len(extra_labels)
    # Human pen strokes, the training writers' only: drawn on the pad many ways, up front, and
    # --stroke-share of every epoch's images. Validation and test stay MNIST's.
    stroke_digits = training_digits(args.strokes, args.stroke_writers) if args.stroke_share > 0 else []
    strokes = None
    if stroke_digits:
        strokes = StrokeDigits.prepare(stroke_digits, args.stroke_share, len(fit_images), args.epochs, args.seed,
                                       args.stroke_variants)
        print(f"{strokes.digits} pen-stroke digits by {len(strokes.writers)} writers: {len(strokes.images)} renderings, "
              f"{strokes.per_epoch} an epoch; made in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        print(f"train.py: MNIST alone, no pen strokes ({'--stroke-share 0' if args.stroke_share <= 0 else f'none in {args.strokes}'})")
    trained_on["strokes"] = strokes.record() if strokes else None

    # The network: the registry says which of our flags are its constructor's arguments.
    arch_kwargs = {option: getattr(args, option) for option in spec.options}
    per_epoch = len(fit_images) + (strokes.per_epoch if strokes else 0)
    steps = args.epochs * math.ceil(per_epoch / args.batch_size)
    learner = LEARNERS[spec.engine](spec, arch_kwargs, args, steps, device)
    print(f"{args.arch}: {learner.parameters:,} parameters on {device if spec.engine == 'torch' else 'numpy'}"
          f"{' (bfloat16 autocast)' if args.bf16 else ''}; "
          f"{per_epoch} training images an epoch, {len(val_images)} validation, {len(test_images)} test images")

    # The loop.
    history, best_accuracy = [], -1.0
    for epoch in range(1, args.epochs + 1):
        images, labels = strokes.mix(fit_images, fit_labels, generator) if strokes else (fit_images, fit_labels)
        train_loss, train_accuracy = train_one_epoch(learner, images, labels, args, generator, epoch)
        val_loss, val_predictions = evaluate(learner, val_images, val_labels)
        val_accuracy = (val_predictions == val_labels).float().mean().item()
        history.append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                        "val_loss": val_loss, "val_accuracy": val_accuracy})
        print(f"epoch {epoch}: train loss {train_loss:.4f} acc {train_accuracy:.4f} | "
              f"val loss {val_loss:.4f} acc {val_accuracy:.4f}", flush=True)
        if val_accuracy > best_accuracy:  # the validation split, never the test set, picks the model
            best_accuracy = val_accuracy
            learner.keep_best()
    learner.restore_best()
    training_seconds = time.perf_counter() - started

    # Evaluation: the test set is used once, here, at the very end.
    test_loss, test_predictions = evaluate(learner, test_images, test_labels)
    test_accuracy = (test_predictions == test_labels).float().mean().item()
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((test_labels, test_predictions), torch.ones_like(test_labels), accumulate=True)
    per_class = (confusion.diag().float() / confusion.sum(1).float()).tolist()
    print(f"test accuracy {test_accuracy:.4%} ({int((test_predictions != test_labels).sum())} errors), "
          f"{training_seconds:.0f} s")

    # Saving: the weights, metrics and plots of this run replace the previous run's as one set.
    metadata = {
        "arch": args.arch,
        "arch_kwargs": arch_kwargs,
        "mean": MNIST_MEAN,
        "std": MNIST_STD,
        "test_accuracy": test_accuracy,
        "val_accuracy": best_accuracy,
        "parameters": learner.parameters,
        "command": command,
        "seed": args.seed,
        "trained_on": trained_on,
        "torch_version": torch.__version__,
        "training_seconds": round(training_seconds, 1),
        "versions": library_versions(),
    }
    metrics = {
        **metadata,
        "training_images": len(fit_images),
        "test_loss": test_loss,
        "test_errors": int((test_predictions != test_labels).sum()),
        "per_class_accuracy": {str(d): a for d, a in enumerate(per_class)},
        "confusion_matrix": confusion.tolist(),
        "device": str(device) if spec.engine == "torch" else "cpu (numpy)",
        "history": history,
    }
    out = Path(args.out)
    weights, metrics_file = spec.weights.name, f"{args.arch}_metrics.json"
    folder = outputs.stage(out, args.arch)
    learner.save(folder / weights, metadata)
    (folder / metrics_file).write_text(json.dumps(metrics, indent=2))
    if not args.no_plots:
        write_report_plots(folder, args.arch, history, confusion, test_images, test_labels, test_predictions)
    outputs.commit(out, args.arch, [weights, metrics_file, *(f"{args.arch}_{plot}.png" for plot in PLOTS)])
    print(f"wrote {out / weights} and its report to {out}/")
    return metrics


def library_versions() -> dict:
    import PIL
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "cpu_count": os.cpu_count()}


if __name__ == "__main__":
    main()
