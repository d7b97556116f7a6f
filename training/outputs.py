"""A training run's outputs (weights, metrics, plots) written as one set: all new or all old.

    folder = stage(out, "cnn")           # write every file of the run into `folder`
    ...
    commit(out, "cnn", members)          # they replace the previous run's set in `out`

Files are written into out/.<arch>.staging/ first. When all are written and synced, a
journal out/.<arch>.journal, itself written atomically, lists what to move in and what of
the previous set to remove; from that moment the run counts as saved. The files are then
moved in one by one (os.replace, atomic per file), and the journal and staging folder go.
A run killed before the journal leaves the previous set untouched; one killed after it is
completed by the next run's recover(), which also sweeps a staging folder or temporary
file that a killed run left behind. One run per arch and folder at a time.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterable


def staging(out: Path, arch: str) -> Path:
    return out / f".{arch}.staging"


def journal(out: Path, arch: str) -> Path:
    return out / f".{arch}.journal"


def recover(out: Path, arch: str) -> None:
    """Finish a committed save a killed run left half done, undo an uncommitted one, sweep temporaries."""
    if journal(out, arch).is_file():
        roll_forward(out, arch)
    shutil.rmtree(staging(out, arch), ignore_errors=True)
    # Temporaries of an atomic write (model.weights.write_atomically, the journal's own)
    # that a SIGKILL left: nothing can be using them, as only one run per arch writes here.
    for pattern in (f".{arch}.*.tmp", f".{arch}_*.tmp", f".{arch}.journal.tmp"):
        for leftover in out.glob(pattern):
            leftover.unlink(missing_ok=True)


def stage(out: Path, arch: str) -> Path:
    """An empty staging folder for this run's files, after recovering from any earlier run."""
    out.mkdir(parents=True, exist_ok=True)
    recover(out, arch)
    folder = staging(out, arch)
    folder.mkdir()
    return folder


def commit(out: Path, arch: str, members: Iterable[str]) -> None:
    """Make the staged files the set: `members` names every file a set of `arch` can have."""
    folder = staging(out, arch)
    written = sorted(path.name for path in folder.iterdir())
    for name in written:
        with (folder / name).open("rb+") as file:
            os.fsync(file.fileno())
    sync_folder(folder)
    plan = {"install": written, "remove": sorted(set(members) - set(written))}
    temporary = out / f".{arch}.journal.tmp"
    with temporary.open("w") as file:
        json.dump(plan, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, journal(out, arch))  # the commit point
    sync_folder(out)
    roll_forward(out, arch)


def roll_forward(out: Path, arch: str) -> None:
    """Carry out the journal. Safe to repeat: a step already done is skipped."""
    plan = json.loads(journal(out, arch).read_text())
    folder = staging(out, arch)
    for name in plan["install"]:
        if (folder / name).exists() and Path(name).name == name:
            os.replace(folder / name, out / name)
    for name in plan["remove"]:
        if Path(name).name == name:
            (out / name).unlink(missing_ok=True)
    sync_folder(out)
    shutil.rmtree(folder, ignore_errors=True)
    journal(out, arch).unlink()


def sync_folder(folder: Path) -> None:
    """Make renames inside `folder` durable. Windows cannot open a folder for that, and needs not."""
    if os.name == "nt":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
