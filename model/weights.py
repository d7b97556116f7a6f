"""Weight files: one format, one saver and one checked loader for every network and the gate.

A weights file holds a network's arrays and the metadata needed to rebuild and trust it:

    cnn.pt, mlp.pt, gate.pt   torch.save({"format": 1, "metadata": {...}, "state_dict": {name: tensor}})
    numpy.npz                 np.savez(metadata=<the same metadata as JSON text>, W1=..., b1=..., W2=..., b2=...)

The torch networks of model/registry.py and the gate (model/gate.py, arch "gate") use .pt; the
numpy net, which has no torch in it, uses .npz. The metadata is plain JSON values in both, and
always names the network ("arch", "arch_kwargs": its constructor's arguments) and the input
normalisation ("mean", "std"); the gate's also holds its "threshold". train.py adds the rest
(accuracy, command, ...).

Reading never runs code: torch.load(weights_only=True), np.load(allow_pickle=False). Every file,
either container, then goes through the same checks before a network is built from it (the
list is load_weights's docstring): bounded sizes, the required metadata, a known network of a
bounded size, every array of the right shape and dtype, every value finite. A bad file is a
WeightsError that names the file and the command that makes a good one. Saving is atomic: the
previous file stays whole if a run dies half-way through a save.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.numpy_net import TwoLayerNet
from model.registry import DEFAULT, NETWORKS, spec

FORMAT = 1  # of a .pt file's outer dict
GATE = "gate"  # the arch of model/gate.py's network: no digit classifier, so not in the registry
# Keys every weight file's metadata must have; train.py and training/gate.py fill in more.
REQUIRED_METADATA = ("arch", "arch_kwargs", "mean", "std")


class WeightsError(RuntimeError):
    """A weights file is missing, corrupt or does not fit its network."""


def how_to_fix(arch: str = DEFAULT) -> str:
    command = "python -m training.gate" if arch == GATE else f"python train.py --arch {arch}"
    return f"Train a fresh one with `{command}` (see the README), or restore it with `git checkout assets/`."


def required_metadata(arch) -> tuple[str, ...]:
    return REQUIRED_METADATA + (("threshold",) if arch == GATE else ())


def engine(arch: str) -> str:
    """The engine of `arch`: "torch" (saved as .pt) or "numpy" (saved as .npz)."""
    return "torch" if arch == GATE else spec(arch).engine


def build(arch: str, **kwargs):
    """A fresh network of `arch`: a name in model/registry.py, or GATE."""
    if arch == GATE:
        from model.gate import GateNet  # here, not at the top: model/gate.py imports this module

        return GateNet(**kwargs)
    return spec(arch).build(**kwargs)


# --- Saving -------------------------------------------------------------------------------------


def save_weights(path: str | os.PathLike, network, metadata: dict) -> None:
    """Write `network`'s weights and `metadata` to `path` atomically (temp file + rename).

    `network` is a torch module (a .pt path) or a model.numpy_net.TwoLayerNet (a .npz path).
    """
    missing = [key for key in required_metadata(metadata.get("arch")) if key not in metadata]
    if missing:
        raise ValueError(f"metadata lacks {missing}")
    # A JSON round trip keeps the metadata to plain values (torch.__version__, for one, is
    # a str subclass that weights_only loading would refuse) and fails early on anything else.
    metadata = json.loads(json.dumps(metadata))
    path = Path(path)
    as_npz = engine(metadata["arch"]) == "numpy"
    if as_npz != (path.suffix == ".npz"):  # load_weights tells the two apart by the suffix
        raise ValueError(f"a {metadata['arch']!r} network is saved as {'.npz' if as_npz else '.pt'}, not as {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if as_npz:
        arrays = dict(network.params)
        write_atomically(path, lambda file: np.savez(file, metadata=np.array(json.dumps(metadata)), **arrays))
    else:
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


# --- Loading ------------------------------------------------------------------------------------

# Bounds that a weights file must keep before anything is built from it. The shipped networks
# have well under a million parameters; a file asking for more than this is damaged or hostile.
MAX_PARAMETERS = 50_000_000
MAX_FILE_BYTES = 512 << 20  # on disk, and unpacked for an .npz
# Constructor arguments are plain numbers, flags, short strings or short lists of numbers.
MAX_LIST_LENGTH = 32


def load_weights(path: str | os.PathLike, arch: str | None = None) -> tuple[nn.Module | TwoLayerNet, dict]:
    """Rebuild the network stored in `path` (in eval mode) with its metadata.

    `arch` is the network the file must hold: GATE for the gate; None for any network of the
    registry. Everything is checked before it is used, the same way for .pt and .npz:
      - the file: present, at most MAX_FILE_BYTES (unpacked too), readable without running code,
        of this format, with arrays in the container of the network's engine;
      - the metadata: the required keys, a known network (the expected one, when `arch` is
        given), constructor arguments that are plain short values, a finite mean, a finite std
        above 0, and for the gate a threshold from 0 to 1;
      - the network's size: the shapes of the network the metadata asks for, found without
        allocating it (torch's "meta" device), every layer at least one unit wide, at most
        MAX_PARAMETERS parameters in all;
      - every array: none missing or extra, each of that network's shape and of a real
        floating dtype (or exactly the network's own dtype), every value finite.
    Raises WeightsError with a way out when the file is missing, corrupt, mismatched or holds
    values that would make every answer NaN. Messages name the file, never its folder.
    """
    path = Path(path)
    name = path.name
    hint = arch or (path.stem if path.stem in NETWORKS else DEFAULT)
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    if size is None:
        raise WeightsError(f"No weights file {name}. {how_to_fix(hint)}")
    if size > MAX_FILE_BYTES:
        raise WeightsError(f"{name} is {size >> 20} MB, far more than any network of this project. {how_to_fix(hint)}")
    container = "numpy" if path.suffix == ".npz" else "torch"
    metadata, arrays = read_npz(path, hint) if container == "numpy" else read_pt(path, hint)
    check_metadata(metadata, name, hint, arch)
    arch = metadata["arch"]
    if engine(arch) != container:
        raise WeightsError(f"{name} says it holds a {arch!r} network, whose weights are saved as "
                           f"{'.npz' if engine(arch) == 'numpy' else '.pt'}. {how_to_fix(hint)}")
    try:
        expected = expected_arrays(arch, metadata["arch_kwargs"])
    except (ValueError, TypeError, RuntimeError, OverflowError) as error:
        raise WeightsError(f"{name} asks for a {arch!r} network that cannot be built ({error}). {how_to_fix(arch)}") from None
    parameters = sum(math.prod(shape) for shape, _ in expected.values())
    if parameters > MAX_PARAMETERS:
        raise WeightsError(f"{name} asks for a {arch!r} network of {parameters:,} parameters; "
                           f"more than {MAX_PARAMETERS:,} is not a network of this project. {how_to_fix(arch)}")
    check_arrays(arrays, expected, name, arch)
    check_finite(arrays, name, arch)
    network = build(arch, **metadata["arch_kwargs"])
    if isinstance(network, TwoLayerNet):
        network.params = {key: np.asarray(arrays[key], np.float32) for key in network.params}
        return network, metadata
    network.load_state_dict(arrays)
    return network.eval(), metadata


def read_pt(path: Path, hint: str) -> tuple[object, dict]:
    """(metadata, state dict) of a .pt file, nothing checked but that it is this format's dict."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 -- truncated zip, random bytes, an old pickle with code in it ...
        raise WeightsError(f"{path.name} is not a readable weights file ({error.__class__.__name__}). {how_to_fix(hint)}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("state_dict"), dict):
        raise WeightsError(f"{path.name} is not a weights file of this project (format {FORMAT}). {how_to_fix(hint)}")
    return payload.get("metadata"), payload["state_dict"]


def read_npz(path: Path, hint: str) -> tuple[object, dict]:
    """(metadata, arrays) of an .npz file, nothing checked but that it is a bounded archive of arrays."""
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 -- random bytes, a pickle (refused), a truncated zip ...
        raise WeightsError(f"{path.name} is not a readable weights file ({error.__class__.__name__}). {how_to_fix(hint)}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise WeightsError(f"{path.name} is not a weights file of this project (an .npz of arrays). {how_to_fix(hint)}")
    with archive:
        # Sizes from the zip's directory, before a single array is read: a forged or compressed
        # member cannot make us allocate more than a file on disk may hold.
        unpacked = sum(info.file_size for info in archive.zip.infolist())
        if unpacked > MAX_FILE_BYTES:
            raise WeightsError(f"{path.name} unpacks to {unpacked >> 20} MB, far more than any network of this project. "
                               f"{how_to_fix(hint)}")
        if "metadata" not in archive.files:
            raise WeightsError(f"{path.name} has no metadata. {how_to_fix(hint)}")
        try:
            metadata = json.loads(str(archive["metadata"]))
            arrays = {key: archive[key] for key in archive.files if key != "metadata"}
        except (ValueError, RecursionError, zipfile.BadZipFile, EOFError, OSError) as error:  # an object array (pickle), damaged bytes ...
            raise WeightsError(f"{path.name} is not a readable weights file ({error.__class__.__name__}). {how_to_fix(hint)}") from None
    return metadata, arrays


def check_metadata(metadata, name: str, hint: str = DEFAULT, arch: str | None = None) -> None:
    """Refuse metadata that names no known network (or not `arch`), has odd constructor arguments,
    a bad mean/std, or for the gate a threshold outside [0, 1]."""
    if not isinstance(metadata, dict):
        raise WeightsError(f"{name} has no metadata. {how_to_fix(hint)}")
    missing = [key for key in required_metadata(metadata.get("arch", arch)) if key not in metadata]
    if missing:
        raise WeightsError(f"{name} lacks the metadata {missing}. {how_to_fix(hint)}")
    found = metadata["arch"]
    if not isinstance(found, str) or found not in (*NETWORKS, GATE):
        raise WeightsError(f"{name} is for an unknown network {str(found)[:40]!r}; this project has {', '.join(NETWORKS)}. "
                           f"{how_to_fix(hint)}")
    if found != arch and (arch is not None or found == GATE):
        wanted = f"the {arch!r} one" if arch is not None else f"a digit network ({', '.join(NETWORKS)})"
        raise WeightsError(f"{name} holds the {found!r} network, not {wanted}. {how_to_fix(hint)}")
    kwargs = metadata["arch_kwargs"]
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) and plain_argument(value) for key, value in kwargs.items()):
        raise WeightsError(f"{name} has malformed network arguments (arch_kwargs): only numbers, flags and short "
                           f"lists of numbers belong there. {how_to_fix(found)}")
    check_normalisation(metadata, name, found)
    if found == GATE:
        threshold = metadata["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise WeightsError(f"{name} has a threshold of {str(threshold)[:40]}; the gate's is a number from 0 to 1. "
                               f"{how_to_fix(GATE)}")


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


def expected_arrays(arch: str, kwargs: dict) -> dict[str, tuple[tuple[int, ...], torch.dtype | np.dtype]]:
    """name -> (shape, dtype) of every array the network `arch`(**kwargs) holds, allocating none of them."""
    if engine(arch) == "numpy":
        expected = {key: (shape, np.dtype(np.float32)) for key, shape in TwoLayerNet.shapes(**kwargs).items()}
    else:
        with torch.device("meta"):  # shapes only: a file asking for a huge network costs nothing here
            skeleton = build(arch, **kwargs)
        expected = {key: (tuple(value.shape), value.dtype) for key, value in skeleton.state_dict().items()}
    if not all(isinstance(size, int) and size >= 1 for shape, _ in expected.values() for size in shape):
        raise ValueError("every layer needs a whole number of units above 0")
    return expected


def check_arrays(arrays: dict, expected: dict, name: str, arch: str) -> None:
    """Refuse missing, extra or misshapen arrays, and dtypes that loading would not cast sensibly."""
    kind = np.ndarray if engine(arch) == "numpy" else torch.Tensor
    problems = [f"missing {key}" for key in expected if key not in arrays]
    problems += [f"unexpected {key}" for key in arrays if key not in expected]
    for key, value in arrays.items():
        if key not in expected:
            continue
        shape, dtype = expected[key]
        if not isinstance(value, kind) or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, kind) else type(value).__name__
            problems.append(f"{key} is {got}, the network needs {shape}")
        elif not real_float(value) and value.dtype != dtype:
            problems.append(f"{key} holds {value.dtype}, the network needs {dtype}")
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise WeightsError(f"{name} does not fit the {arch!r} network: {shown}. {how_to_fix(arch)}")


def real_float(value: torch.Tensor | np.ndarray) -> bool:
    return value.is_floating_point() if isinstance(value, torch.Tensor) else value.dtype.kind == "f"


def check_finite(arrays: dict, name: str, arch: str = DEFAULT) -> None:
    """Refuse NaN or infinite weights (torch tensors or numpy arrays): every answer would be NaN."""
    for key, value in arrays.items():
        if not real_float(value):
            continue
        finite = torch.isfinite(value).all() if isinstance(value, torch.Tensor) else np.isfinite(value).all()
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
