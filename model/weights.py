"""Weight files: a state dict plus the metadata needed to rebuild and trust the network.

A file is a plain dict {"format": 1, "metadata": {...}, "state_dict": {...}} written with
torch.save and read with torch.load(weights_only=True), so loading never unpickles code.
Saving is atomic: the previous file stays whole if a run dies half-way through a save.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.networks import build
from model.registry import DEFAULT, NETWORKS

FORMAT = 1
# Keys every weight file's metadata must have; train.py fills in more (accuracy, command, ...).
REQUIRED_METADATA = ("arch", "arch_kwargs", "mean", "std")


class WeightsError(RuntimeError):
    """A weights file is missing, corrupt or does not fit its network."""


def how_to_fix(arch: str = "cnn") -> str:
    return f"Train a fresh one with `python train.py --arch {arch}` (see the README), or restore it with `git checkout assets/`."


def save_weights(path: str | os.PathLike, network: nn.Module, metadata: dict) -> None:
    """Write `network`'s weights and `metadata` to `path` atomically (temp file + rename)."""
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"metadata lacks {missing}")
    # A JSON round trip keeps the metadata to plain values (torch.__version__, for one, is
    # a str subclass that weights_only loading would refuse) and fails early on anything else.
    metadata = json.loads(json.dumps(metadata))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    payload = {"format": FORMAT, "metadata": metadata, "state_dict": state}
    write_atomically(path, lambda file: torch.save(payload, file))


def write_atomically(path: Path, write) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new
    one, never half of one, even if the process is killed during `write`.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the usual permissions (0644 under umask 022).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary behind
        Path(temporary).unlink(missing_ok=True)
        raise


# Bounds that a weights file must keep before anything is built from it. The shipped networks
# have well under a million parameters; a file asking for more than this is damaged or hostile.
MAX_PARAMETERS = 50_000_000
MAX_FILE_BYTES = 512 << 20
# Constructor arguments are plain numbers, flags, short strings or short lists of numbers.
MAX_LIST_LENGTH = 32


def load_weights(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Rebuild the network stored in `path`, in eval mode, with its metadata.

    Everything is checked before it is used: the metadata (a known network, sane constructor
    arguments, a finite mean and a finite positive std), the network's size (built first on
    torch's "meta" device, which allocates nothing), and every tensor (the right shape, finite).
    Raises WeightsError with a way out when the file is missing, corrupt, mismatched or
    holds values that would make every answer NaN. Messages name the file, never its folder.
    """
    path = Path(path)
    name = path.name
    arch_hint = path.stem if path.stem in NETWORKS else DEFAULT
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    if size is None:
        raise WeightsError(f"No weights file {name}. {how_to_fix(arch_hint)}")
    if size > MAX_FILE_BYTES:
        raise WeightsError(f"{name} is {size >> 20} MB, far more than any network of this project. {how_to_fix(arch_hint)}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 -- truncated zip, random bytes, an old pickle with code in it ...
        raise WeightsError(f"{name} is not a readable weights file ({error.__class__.__name__}). {how_to_fix(arch_hint)}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("state_dict"), dict):
        raise WeightsError(f"{name} is not a weights file of this project (format {FORMAT}). {how_to_fix(arch_hint)}")
    metadata = payload.get("metadata")
    check_metadata(metadata, name, arch_hint)
    arch = metadata["arch"]
    state = payload["state_dict"]
    try:
        with torch.device("meta"):  # shapes only: a file asking for a huge network costs nothing here
            skeleton = build(arch, **metadata["arch_kwargs"])
    except (ValueError, TypeError, RuntimeError, OverflowError) as error:
        raise WeightsError(f"{name} asks for a {arch!r} network that cannot be built ({error}). {how_to_fix(arch)}") from None
    parameters = sum(p.numel() for p in skeleton.parameters())
    if parameters > MAX_PARAMETERS:
        raise WeightsError(f"{name} asks for a {arch!r} network of {parameters:,} parameters; "
                           f"more than {MAX_PARAMETERS:,} is not a network of this project. {how_to_fix(arch)}")
    expected = skeleton.state_dict()
    problems = [f"missing {key}" for key in expected if key not in state]
    problems += [f"unexpected {key}" for key in state if key not in expected]
    for key, value in state.items():
        if key not in expected:
            continue
        if not isinstance(value, torch.Tensor) or value.shape != expected[key].shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            problems.append(f"{key} is {got}, the network needs {tuple(expected[key].shape)}")
        elif value.is_complex() or not (value.is_floating_point() or value.dtype == expected[key].dtype):
            problems.append(f"{key} holds {value.dtype}, the network needs {expected[key].dtype}")
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise WeightsError(f"{name} does not fit the {arch!r} network: {shown}. {how_to_fix(arch)}")
    check_finite(state, name, arch)
    network = build(arch, **metadata["arch_kwargs"])
    network.load_state_dict(state)
    return network.eval(), metadata


def check_metadata(metadata, name: str, arch_hint: str = DEFAULT) -> None:
    """Refuse metadata that names no known network, has odd constructor arguments, or a bad mean/std.

    Shared by every weights format (model/numpy_net.py's .npz files too): `name` is the file's
    name for the message.
    """
    if not isinstance(metadata, dict):
        raise WeightsError(f"{name} has no metadata. {how_to_fix(arch_hint)}")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise WeightsError(f"{name} lacks the metadata {missing}. {how_to_fix(arch_hint)}")
    arch = metadata["arch"]
    if not isinstance(arch, str) or arch not in NETWORKS:
        raise WeightsError(f"{name} is for an unknown network {str(arch)[:40]!r}; this project has {', '.join(NETWORKS)}. "
                           f"{how_to_fix(arch_hint)}")
    kwargs = metadata["arch_kwargs"]
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) and plain_argument(value) for key, value in kwargs.items()):
        raise WeightsError(f"{name} has malformed network arguments (arch_kwargs): only numbers, flags and short "
                           f"lists of numbers belong there. {how_to_fix(arch)}")
    check_normalisation(metadata, name, arch)


def check_normalisation(metadata: dict, name: str, arch: str = DEFAULT) -> tuple[float, float]:
    """(mean, std) of the input normalisation, or WeightsError: finite numbers, std > 0.

    A zero, negative, NaN or non-numeric std would turn every answer into NaN (or a crash).
    """
    values = []
    for key in ("mean", "std"):
        value = metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WeightsError(f"{name} has a non-numeric {key} ({str(value)[:40]!r}). {how_to_fix(arch)}")
        values.append(float(value))
    mean, std = values
    if not math.isfinite(mean):
        raise WeightsError(f"{name} has a mean of {mean}, which is not a number. {how_to_fix(arch)}")
    if not (math.isfinite(std) and std > 0):
        raise WeightsError(f"{name} has a std of {std}; it must be a finite number above 0. {how_to_fix(arch)}")
    return mean, std


def check_finite(tensors: dict, name: str, arch: str = DEFAULT) -> None:
    """Refuse NaN or infinite weights (torch tensors or numpy arrays): every answer would be NaN."""
    for key, value in tensors.items():
        if isinstance(value, torch.Tensor):
            finite = not value.is_floating_point() or bool(torch.isfinite(value).all())
        else:
            array = np.asarray(value)
            finite = array.dtype.kind not in "fc" or bool(np.isfinite(array).all())
        if not finite:
            raise WeightsError(f"{name} holds NaN or infinite weights in {key}. {how_to_fix(arch)}")


def plain_argument(value) -> bool:
    """A constructor argument as train.py writes them: a number, flag or short string, or a short list of numbers."""
    if isinstance(value, (bool, int, float)):
        return isinstance(value, bool) or math.isfinite(value) and abs(value) <= 1e6
    if isinstance(value, str):
        return len(value) <= 64
    if isinstance(value, (list, tuple)):
        return len(value) <= MAX_LIST_LENGTH and all(isinstance(v, (int, float)) and not isinstance(v, bool) and plain_argument(v) for v in value)
    return value is None
