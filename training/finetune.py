"""Teach the live CNN a class's handwriting, in front of the class, in well under a minute.

    >>> from training.finetune import teach
    >>> report = teach(store.rows(), progress=gr.Progress())   # fine-tune, then swap in for everyone
    >>> report["held_out_before"], report["held_out_after"], report["mnist_after"], report["seconds"]

The recipe, top to bottom:

1. Split the class's labelled drawings by drawing into a part to learn from and a held-out
   part that is never trained on. The split hashes each drawing's id, so a drawing held out
   once stays held out in every later fine-tune: the "before/after" on the board stays honest
   even when the teacher fine-tunes again from an already fine-tuned network.
2. Fine-tune a copy of the live network for a fixed number of steps. Every batch mixes the
   class's drawings with MNIST digits from the shipped replay set (training/replay.py), both
   through train.py's augmentation, so the network learns the class without forgetting MNIST.
   The drawings the live network misreads are picked more often (FOCUS): they are what the
   class has to teach it.
   On the replayed digits it also learns to answer as the live network did (distillation,
   Hinton et al. 2015; "Learning without Forgetting", Li and Hoiem 2016): a label says only
   which digit is right, the live network's answer says how sure to be of every digit, so a
   few thousand replayed digits hold far more of what it knew of MNIST. Without it, a
   fine-tune of the network trained on pen strokes lost about a tenth of a point of MNIST, as
   much as the room between it and the guard, and so was refused or blended back now and then.
3. Guard MNIST: the network swapped in must still read MNIST_FLOOR of MNIST's test digits.
   What a fine-tune costs MNIST varies from class to class, and with the ids (they decide the
   split) and the labelling order (it decides the batches), by about as much as the room
   between the shipped network and the floor, so a fixed recipe was refused now and then.
   Instead of refusing, it tries networks on the straight
   line from the live network to the fine-tuned one (BLENDS, see blended()), the fine-tuned one
   first, and swaps in the first that passes: near the fine-tuned end, a step back undoes more
   of what it forgot of MNIST than of what it learnt of the class (`python -m bench.finetune
   --repeat 10` prints every try). Only MNIST chooses, never the held-out drawings.
4. Measure the held-out part before and after.

`finetune_weights` is the only part that needs an accelerator: picklable arrays and a state
dict in, a state dict of CPU tensors out, device picked inside, so that a ZeroGPU Space can
run it under `@spaces.GPU` in a forked worker (teach's `trainer`).
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from training.augment import add_continental_strokes, augment
from model import live as live_networks, registry
from model.classifier import Classifier
from model.machine import pick_device
from model.preprocess import normalize
from training.replay import Digits, mnist_test_set, replay_digits

Progress = Callable[..., object]  # called as progress(fraction, "text"); gr.Progress fits

# Chosen with `python -m bench.finetune --tune` (see its docstring): classes of training writers
# 15-20 taught to a CNN trained without them, the way the shipped CNN meets the measuring
# writers, never on the measuring writers that the bench's figures come from.
# Optimisation steps, whatever the class's size. On the --tune classes 100, 150 and 300 steps
# cut the held-out errors alike, and 150 alone kept MNIST at the fine-tuned end in every class
# there; the class waits for every step, so the lesson takes no more than that.
STEPS = 150
CLASS_BATCH = 32  # class drawings per step
# MNIST digits per step, half again as many as drawings: with distillation they keep MNIST at
# the fine-tuned end, where the guard would otherwise blend back part of what was learnt.
REPLAY_BATCH = 48
LR = 1e-3  # AdamW peak, a quarter of train.py's: 2e-3 cut the class's errors no more
WARMUP = 0.1  # share of the steps spent ramping the learning rate up
HELD_OUT_SHARE = 0.25  # of the class's drawings, kept out of fine-tuning to measure it
MIN_DRAWINGS = 10  # fewer than this and the held-out part says nothing
# A fine-tuned network that reads MNIST's test digits worse than this is not swapped in: the
# class's gain must not cost everyone else their digits.
MNIST_FLOOR = 0.995
# Tried in this order, the network swapped in is the first that passes that floor: how far it
# goes from the live network towards the fine-tuned one (guarded()). Each try costs one pass
# over MNIST's test digits, a few seconds; beyond half way back little of the class is left.
BLENDS = (1.0, 0.75, 0.5)
# Weight of the distillation term on the replayed digits (KL to the live network's answers),
# against 1 for the labels.
DISTILL = 2.0
# How much more often a class drawing is picked the less the live network believed its label:
# chance 1 + FOCUS * (1 - p(label)). The network already reads almost every drawing of a class
# right; the few it misreads are a writer's own way with a digit (a 1 with a looped flag), and
# the held-out errors are more of the same, so steps spent on them are what cut those errors
# (importance sampling of hard examples, as in online hard example mining, Shrivastava et al. 2016).
FOCUS = 10.0


def held_out_mask(ids: Iterable, share: float = HELD_OUT_SHARE) -> np.ndarray:
    """True for the drawings kept out of fine-tuning: a stable hash of each id, not a random draw.

    The same id lands on the same side on every call, in every process (Python's own hash()
    of a str changes between processes, sha256 does not).
    """
    def bucket(drawing_id) -> float:
        digest = hashlib.sha256(str(drawing_id).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return np.array([bucket(i) < share for i in ids], dtype=bool)


def steps_schedule(step: int, steps: int) -> float:
    """Learning-rate factor: a linear warm-up, then a cosine down to zero."""
    warmup = max(1, round(WARMUP * steps))
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def finetune_weights(
    state_dict: dict,
    metadata: dict,
    images: np.ndarray,
    labels: np.ndarray,
    replay_images: np.ndarray,
    replay_labels: np.ndarray,
    *,
    steps: int = STEPS,
    lr: float = LR,
    class_batch: int = CLASS_BATCH,
    replay_batch: int = REPLAY_BATCH,
    distill: float = DISTILL,
    focus: float = FOCUS,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, torch.Tensor]:
    """Fine-tune the network of `state_dict` on drawings plus replay; return its new weights on the CPU.

    images: N x 28 x 28 float32 in [0, 1], ink = 1 (to_mnist's output); replay_images: uint8 MNIST.
    Runs on the fastest device there is (model.machine.pick_device). Deterministic on the CPU for a given seed.
    """
    device = pick_device()
    torch.manual_seed(seed)  # dropout
    generator = torch.Generator().manual_seed(seed)  # batches and augmentation, drawn on the CPU
    network = registry.spec(metadata["arch"]).build(**metadata["arch_kwargs"])
    network.load_state_dict(state_dict)
    network.to(device, memory_format=torch.channels_last).train()
    # The live network, frozen: its answers on the replayed digits (distillation) and on the drawings (FOCUS).
    teacher = copy.deepcopy(network).eval().requires_grad_(False) if distill or focus else None
    # BatchNorm keeps the statistics it learned on all of MNIST: a few hundred steps of small
    # mixed batches would only make them noisier. Its scale and shift still learn.
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: steps_schedule(step, steps))

    drawings = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    drawn_labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    replay = torch.from_numpy(np.ascontiguousarray(replay_images)).unsqueeze(1)
    replay_targets = torch.as_tensor(np.asarray(replay_labels), dtype=torch.long)
    mean, std = float(metadata["mean"]), float(metadata["std"])
    chance = torch.ones(len(drawings))  # of each drawing being picked for a batch (FOCUS)
    if focus:
        with torch.no_grad():
            read = F.softmax(teacher(normalize(drawings, mean, std).to(device, memory_format=torch.channels_last)), 1).cpu()
        chance += focus * (1 - read[torch.arange(len(drawings)), drawn_labels])

    for step in range(steps):
        pick = torch.multinomial(chance, class_batch, replacement=True, generator=generator)
        again = torch.randint(len(replay), (replay_batch,), generator=generator)
        mnist = replay[again].float().div_(255)
        mnist = add_continental_strokes(mnist, replay_targets[again], generator)  # as train.py trains
        batch = augment(torch.cat([drawings[pick], mnist]), generator)
        target = torch.cat([drawn_labels[pick], replay_targets[again]])
        batch = normalize(batch, mean, std).to(device, memory_format=torch.channels_last)
        logits = network(batch)
        loss = F.cross_entropy(logits, target.to(device), label_smoothing=0.05)
        if distill:  # only on the replayed MNIST digits: on the class's drawings it should change its mind
            with torch.no_grad():
                kept = F.log_softmax(teacher(batch[class_batch:]), 1)
            loss = loss + distill * F.kl_div(F.log_softmax(logits[class_batch:], 1), kept, log_target=True, reduction="batchmean")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None and (step % 10 == 9 or step == steps - 1):
            progress((step + 1) / steps, f"fine-tuning: step {step + 1} of {steps}")
    return {key: value.detach().cpu() for key, value in network.state_dict().items()}


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray, batch: int = 1000) -> float:
    """Share of `images` (N x 28 x 28 in [0, 1]) read as their label."""
    if len(images) == 0:
        return float("nan")
    predicted = np.concatenate([classifier.probabilities(images[i : i + batch]).argmax(1) for i in range(0, len(images), batch)])
    return float((predicted == np.asarray(labels)).mean())


def finetune(
    classifier: Classifier,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    replay: Digits | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    trainer: Callable[..., dict] | None = None,
    **settings,
) -> Classifier:
    """A new Classifier: `classifier`'s network fine-tuned on `images` with MNIST replay.

    `settings` (steps, lr, class_batch, replay_batch, distill, focus) override the module's defaults.
    The given classifier is left untouched (readers may be using it). `trainer` runs the
    training: finetune_weights by default; on a ZeroGPU Space, app.py passes the same
    function under @spaces.GPU, which runs it on the GPU in a forked worker.
    """
    replay = replay if replay is not None else replay_digits()
    network = classifier.network
    state = {key: value.detach().cpu().clone() for key, value in network.state_dict().items()}
    new_state = (trainer or finetune_weights)(state, classifier.metadata, images, labels, replay.images,
                                              replay.labels, seed=seed, progress=progress, **settings)
    metadata = copy.deepcopy(classifier.metadata)
    new_network = classifier.spec.build(**metadata["arch_kwargs"])
    new_network.load_state_dict(new_state)
    return Classifier(new_network, metadata, classifier.spec, gate=classifier.gate)


def blended(start: Classifier, tuned: Classifier, share: float) -> Classifier:
    """The network `share` of the way from `start`'s weights to `tuned`'s, on a straight line.

    Weight-space ensembling (Wortsman et al., "Robust fine-tuning of zero-shot models", 2022):
    a fine-tune from a network stays in its basin, so the points between the two are networks
    too, trading what was learnt for what was kept. BatchNorm's statistics were not trained
    (finetune_weights keeps them), so they are the same at both ends.
    """
    if share == 1:
        return tuned
    old, new = start.network.state_dict(), tuned.network.state_dict()
    state = {key: torch.lerp(old[key], new[key], share) if new[key].is_floating_point() else new[key] for key in new}
    network = tuned.spec.build(**tuned.metadata["arch_kwargs"])
    network.load_state_dict(state)
    return Classifier(network, copy.deepcopy(tuned.metadata), tuned.spec, gate=tuned.gate)


def guarded(start: Classifier, tuned: Classifier, mnist: Digits, floor: float,
            progress: Progress) -> tuple[Classifier, float | None, list[dict]]:
    """The network to swap in: the first of BLENDS that reads at least `floor` of MNIST's test digits.

    (That network, the share of the way it goes, every share tried with its MNIST accuracy);
    the share is None, the network the last one tried, when none reaches the floor. Only MNIST
    chooses: the held-out drawings, which the board reports, play no part.
    """
    images = mnist.floats()
    tried = []
    for share in BLENDS:
        candidate = blended(start, tuned, share)
        mnist_after = accuracy(candidate, images, mnist.labels)
        tried.append({"blend": share, "mnist": mnist_after})
        if mnist_after >= floor:
            return candidate, share, tried
        progress(0.85, f"MNIST {mnist_after:.2%}, under the {floor:.1%} floor: trying a network nearer the one it had")
    return candidate, None, tried


def teach(rows, progress: Progress | None = None, live=None, *, trainer: Callable[..., dict] | None = None,
          seed: int = 0, mnist_floor: float = MNIST_FLOOR, **settings) -> dict:
    """Fine-tune the live network on a class's labelled drawings and make it live for everyone.

    rows: objects with `.id`, `.digit` (the label) and `.image28` (to_mnist's 28x28 output),
    as classroom.store.Store.rows() gives them. Returns the figures the board shows.
    `trainer` and `settings` as for finetune(). A network under `mnist_floor` on MNIST's test
    digits stays unused ("swapped": False, "note" says why). Raises ValueError (too few drawings)
    or model.live.LiveBusy (a change already running).
    """
    holder = live if live is not None else live_networks.default()
    rows = list(rows)
    if len(rows) < MIN_DRAWINGS:
        raise ValueError(f"Fine-tuning needs at least {MIN_DRAWINGS} labelled drawings; the class has {len(rows)} so far.")
    with holder.changing():
        started = time.perf_counter()
        report_progress = progress or (lambda *args, **kwargs: None)
        report_progress(0.0, "splitting the class's drawings")
        images = np.stack([np.asarray(row.image28, dtype=np.float32) for row in rows])
        labels = np.array([int(row.digit) for row in rows])
        held = held_out_mask([row.id for row in rows])
        if held.all() or not held.any():  # a tiny class can hash to one side; keep both non-empty
            held = np.zeros(len(rows), dtype=bool)
            held[:: max(2, round(1 / HELD_OUT_SHARE))] = True
        before = holder.current()
        before_accuracy = accuracy(before.classifier, images[held], labels[held])

        def training_progress(fraction, text=None):
            report_progress(0.05 + 0.8 * fraction, text)

        tuned = finetune(before.classifier, images[~held], labels[~held], seed=seed, progress=training_progress,
                         trainer=trainer, **settings)
        report_progress(0.85, "checking MNIST's test digits")
        mnist = mnist_test_set()
        new, blend, tried = guarded(before.classifier, tuned, mnist, mnist_floor, report_progress)
        mnist_after = tried[-1]["mnist"]
        report_progress(0.95, "measuring the held-out drawings")
        after_accuracy = accuracy(new, images[held], labels[held])
        seconds = time.perf_counter() - started
        report = {
            "held_out": int(held.sum()),
            "trained_on": int((~held).sum()),
            "held_out_before": before_accuracy,
            "held_out_after": after_accuracy,
            "mnist_after": mnist_after,
            "mnist_test": mnist.source,
            "seconds": round(seconds, 1),
            "from_version": before.version,
            "steps": settings.get("steps", STEPS),
            "seed": seed,
            "blend": blend,
            "tried": tried,
        }
        if blend is None:
            report_progress(1.0, "kept the network it had: the new one forgot too much MNIST")
            return {**report, "swapped": False, "version": before.version,
                    "note": f"Not swapped in: even {BLENDS[-1]:.0%} of the way to the fine-tuned network it read "
                            f"{mnist_after:.2%} of MNIST's test digits, under the {mnist_floor:.1%} floor, so the live "
                            "network stays as it was."}
        metadata = {**new.metadata, "test_accuracy": mnist_after, "test_set": mnist.source, "finetuned": report}
        now = holder.swap(new.network, metadata)
        report_progress(1.0, "the new network is live")
    return {**report, "swapped": True, "version": now.version}
