"""MNIST from its four original .gz files, each checked against its known md5 before use.

    images, labels = load_mnist("../shared/data/mnist", train=True)   # 60000 x 1 x 28 x 28, 60000

The files are read straight from the .gz archives (the idx format is a short header and raw
bytes), never from an extracted copy, so what is trained on is always what was verified.
A folder without them is filled by downloading; a bad file is named, never used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np
import torch

# A download that stalls this long is given up, with a clear message.
TIMEOUT_SECONDS = 30


class DataError(RuntimeError):
    """MNIST is missing, damaged or cannot be downloaded; the message says what to do."""


def resources() -> dict[str, str]:
    """{file name: md5} of MNIST's four files, as torchvision knows them."""
    from torchvision.datasets import MNIST

    return {url.rsplit("/", 1)[-1]: md5 for url, md5 in MNIST.resources}


def mirrors() -> list[str]:
    from torchvision.datasets import MNIST

    return list(MNIST.mirrors)


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find(folder: Path, name: str) -> Path | None:
    """`name` in `folder`, or in a torchvision root's MNIST/raw inside it."""
    for path in (folder / name, folder / "MNIST" / "raw" / name):
        if path.is_file():
            return path
    return None


def download(folder: Path, name: str, checksum: str) -> Path:
    """Fetch `name` into `folder` from the first mirror that answers with the right md5.

    Written by hand rather than with torchvision's download_url so that a broken or partial
    download never sits under the real name: it goes to a .part file, renamed once verified.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target, partial = folder / name, folder / f".{name}.part"
    problems = []
    for mirror in mirrors():
        try:
            with urllib.request.urlopen(mirror + name, timeout=TIMEOUT_SECONDS) as response, partial.open("wb") as file:
                while block := response.read(1 << 20):
                    file.write(block)
        except OSError as error:  # URLError, timeouts and refused connections are all OSErrors
            problems.append(getattr(error, "reason", error))
            partial.unlink(missing_ok=True)
            continue
        if md5(partial) == checksum:
            os.replace(partial, target)
            return target
        problems.append("wrong md5")
        partial.unlink()
    raise DataError(f"MNIST's {name} is not in {folder} and could not be downloaded ({problems[-1]}): "
                    f"copy MNIST's four .gz files there, or pass --data-dir with a folder that has them")


def verified_files(data_dir: str | os.PathLike) -> dict[str, Path]:
    """The four MNIST files in `data_dir`, downloaded when absent, all with their known md5."""
    folder = Path(data_dir)
    files = {}
    for name, checksum in resources().items():
        path = find(folder, name) or download(folder, name, checksum)
        if md5(path) != checksum:
            raise DataError(f"{path} is damaged: its md5 is {md5(path)}, MNIST's {name} has {checksum}. "
                            f"Delete it (it is downloaded again) or copy a good one there")
        files[name] = path
    return files


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An idx file (big-endian header: magic number, then one uint32 per dimension) as uint8."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    dimensions = magic & 0xFF
    header = np.frombuffer(data, ">u4", count=1 + dimensions)
    if header[0] != magic:
        raise DataError(f"{path} is not an idx file of the expected kind")
    return np.frombuffer(data, np.uint8, offset=4 * (1 + dimensions)).reshape(header[1:])


def load_mnist(data_dir: str | os.PathLike, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """All of MNIST's train or test split as (N x 1 x 28 x 28 float in [0, 1], N int64 labels)."""
    files = verified_files(data_dir)
    prefix = "train" if train else "t10k"
    images = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"], 0x803)
    labels = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"], 0x801)
    return torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255), torch.from_numpy(labels.astype(np.int64))
