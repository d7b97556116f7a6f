"""Augmentation made for drawings: MNIST digits changed the ways drawn digits differ from them.

Drawn digits differ from MNIST by slant, size, position and stroke width, their small loops
fill in under a fat brush, and many people cross their 7s and flag their 1s. Each of those
gets its own random draw, sized to what the canvas preprocessing (model/preprocess.py)
leaves over. Everything is batched on tensors, so two CPU cores are never waiting on PIL.

    batch = augment_batch(images, labels, generator)   # N x 1 x 28 x 28 in [0, 1]

Every number of the recipe is named once, here. Draws come from `generator` in a fixed
order, so a seed gives the same batches, and so the same shipped weights, on every run.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# The affine warp, per image: rotation, scale, shear and shift drawn uniformly in these ranges.
ROTATION_DEGREES = 15  # -15..15
SCALE = (0.85, 1.15)
SHEAR = 0.25  # -0.25..0.25, x moved by shear * y
SHIFT = 0.12  # -0.12..0.12 of the half-width: about +-1.7 px
# Elastic distortion (--elastic): a random field smoothed twice by a KERNEL-wide box, times STRENGTH.
ELASTIC_KERNEL = 7
ELASTIC_STRENGTH = 0.5
CLOSED_SHARE = 0.3  # share of images whose small loops and gaps get closed
# Stroke width: blend towards a 3x3 erosion (negative amounts) or dilation (positive), amount drawn here.
STROKE_BLEND = (-0.7, 1.0)
CLEAN_SHARE = 0.25  # share of images left unaugmented, so MNIST's own shapes are still learnt exactly
# Continental 1s and 7s (see add_continental_strokes).
CONTINENTAL_SHARE = 0.5  # share of the 1s and 7s that get the extra strokes
FLAG_ANGLE_DEGREES = (20, 60)  # a 1's flag: below the horizontal, pointing left
FLAG_LENGTH = (0.3, 0.7)  # times the digit's height
FOOT_SHARE = 0.3  # share of flagged 1s that also get a foot
FOOT_HALF_LENGTH = (0.15, 0.3)  # times the digit's height
BAR_HEIGHT = (0.45, 0.6)  # where a 7's bar crosses, from the top, times the digit's height
BAR_TILT_DEGREES = 12  # -12..12
BAR_HALF_LENGTH = (0.15, 0.28)  # times the digit's height
PEN_WIDTH = (1.8, 3.0)  # px, of every added stroke


def augment_batch(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, elastic: bool = False) -> torch.Tensor:
    """The whole recipe for one training batch: continental strokes, then augment()."""
    return augment(add_continental_strokes(images, labels, generator), generator, elastic)


def uniform(generator: torch.Generator, count: int, low: float, high: float) -> torch.Tensor:
    """`count` independent draws from U(low, high)."""
    return torch.rand(count, generator=generator) * (high - low) + low


def augment(images: torch.Tensor, generator: torch.Generator, elastic: bool = False) -> torch.Tensor:
    """Random per-sample affine warp, small loops closed on some, then stroke thinning or thickening."""
    n = images.shape[0]
    angle = uniform(generator, n, -ROTATION_DEGREES, ROTATION_DEGREES) * math.pi / 180
    scale = uniform(generator, n, *SCALE)
    shear = uniform(generator, n, -SHEAR, SHEAR)
    shift = torch.stack([uniform(generator, n, -SHIFT, SHIFT), uniform(generator, n, -SHIFT, SHIFT)], dim=1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output to input coordinates: this is (rotation * shear / scale).
    theta = torch.stack(
        [torch.stack([cos, -sin + cos * shear, shift[:, 0]], 1), torch.stack([sin, cos + sin * shear, shift[:, 1]], 1)],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic:
        noise = torch.rand(n, 2, 28, 28, generator=generator) * 2 - 1
        half = ELASTIC_KERNEL // 2
        smooth = F.avg_pool2d(F.avg_pool2d(noise, ELASTIC_KERNEL, 1, half), ELASTIC_KERNEL, 1, half)
        grid = grid + smooth.permute(0, 2, 3, 1) * ELASTIC_STRENGTH
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    closed = torch.rand(n, generator=generator) < CLOSED_SHARE
    warped = torch.where(closed.view(n, 1, 1, 1), close_small_gaps(warped), warped)

    amount = uniform(generator, n, *STROKE_BLEND).view(n, 1, 1, 1)
    target = torch.where(amount > 0, dilate(warped), erode(warped))
    augmented = warped + amount.abs() * (target - warped)
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
    so a network trained on it reads a flagged 1 as a 7 and a crossed 7 as a 2; on drawn
    digits those two mix-ups were the most common errors. This draws the missing strokes
    onto MNIST's own digits: at the top of a 1 a short stroke down to the left, sometimes a
    bar at its foot; across the middle of a 7 a short, nearly level bar.
    """
    images = images.clone()
    n = len(images)
    chosen = torch.rand(n, generator=generator) < CONTINENTAL_SHARE
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
            angle = uniform(generator, k, *FLAG_ANGLE_DEGREES) * math.pi / 180
            length = height * uniform(generator, k, *FLAG_LENGTH)
            end = start + torch.stack([torch.sin(angle), -torch.cos(angle)], dim=1) * length[:, None]
            strokes = segments(start, end, uniform(generator, k, *PEN_WIDTH))
            foot = torch.nonzero(torch.rand(k, generator=generator) < FOOT_SHARE).flatten()
            if len(foot):
                middle = torch.stack([bottom[foot].float(), ink_column(bottom[foot], foot)], dim=1)
                half = (height[foot] * uniform(generator, len(foot), *FOOT_HALF_LENGTH))[:, None] * torch.tensor([[0.0, 1.0]])
                strokes[foot] = torch.maximum(strokes[foot], segments(middle - half, middle + half, uniform(generator, len(foot), *PEN_WIDTH)))
        else:
            row = top.float() + height * uniform(generator, k, *BAR_HEIGHT)
            middle = torch.stack([row, ink_column(row.round())], dim=1)
            tilt = uniform(generator, k, -BAR_TILT_DEGREES, BAR_TILT_DEGREES) * math.pi / 180
            half = (height * uniform(generator, k, *BAR_HALF_LENGTH))[:, None] * torch.stack([torch.sin(tilt), torch.cos(tilt)], dim=1)
            strokes = segments(middle - half, middle + half, uniform(generator, k, *PEN_WIDTH))
        images[index, 0] = torch.maximum(images[index, 0], strokes)
    return images
