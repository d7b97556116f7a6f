"""Weight files: a state dict plus the metadata needed to rebuild and trust the network.

A file is a plain dict {"format": 1, "metadata": {...}, "state_dict": {...}} written with
torch.save and read with torch.load(weights_only=True), so loading never unpickles code.
Saving is atomic: the previous file stays whole if a run dies half-way through a save.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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


def load_weights(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Rebuild the network stored in `path`, in eval mode, with its metadata.

    Raises WeightsError with a way out when the file is missing, corrupt or mismatched.
    """
    path = Path(path)
    arch_hint = path.stem if path.stem in NETWORKS else DEFAULT
    if not path.is_file():
        raise WeightsError(f"No weights file at {path}. {how_to_fix(arch_hint)}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, random bytes, an old pickle with code in it ...
        raise WeightsError(f"{path} is not a readable weights file ({error.__class__.__name__}). {how_to_fix(arch_hint)}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise WeightsError(f"{path} is not a weights file of this project (format {FORMAT}). {how_to_fix(arch_hint)}")
    metadata = payload.get("metadata") or {}
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise WeightsError(f"{path} lacks the metadata {missing}. {how_to_fix(arch_hint)}")
    try:
        network = build(metadata["arch"], **metadata["arch_kwargs"])
        network.load_state_dict(payload["state_dict"])
    except (ValueError, TypeError, RuntimeError) as error:
        raise WeightsError(f"{path} does not fit the {metadata['arch']!r} network: {error}. {how_to_fix(metadata['arch'])}") from error
    return network.eval(), metadata
