"""Files sent to the API: what the server accepts, and keeping Gradio's upload cache bounded.

Gradio writes every upload into its cache root (GRADIO_TEMP_DIR, else /tmp/gradio), each
in a folder named by its content's hash. Three things would pile up there over a day:
  - gr.File's preprocessing creates an empty temporary file in the cache root for every
    request and never uses it (gradio 6.31 components/file.py); ImageUpload does not;
  - the uploads themselves: `delete_cache` (app.py) removes them once they are CACHE_AGE old;
  - the hash folders, which Gradio's cleaning leaves behind empty: `bounded_cache` removes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import gradio as gr
from gradio.utils import NamedString, get_upload_folder

MAX_UPLOAD = "10mb"  # the largest file accepted, whole: a phone photo of a digit is a few MB
# Uploads are read at once, so they need not stay long: every CACHE_AGE seconds Gradio deletes
# those older than CACHE_AGE. The cache then holds at most two CACHE_AGE's worth of uploads.
CACHE_AGE = 300


class ImageUpload(gr.File):
    """gr.File for the API's image input, without the stray empty file per request.

    gradio 6.31's File._process_single_file opens a NamedTemporaryFile(delete=False) in the
    cache root, renames the object in memory and returns the upload's own path: the empty
    file is never used nor deleted. This returns the same path and creates nothing.
    """

    is_template = True  # the page shows it with gr.File's own frontend

    def _process_single_file(self, f) -> NamedString:
        return NamedString(f.path)


def remove_empty_folders(root: str | os.PathLike, older_than: float) -> int:
    """Remove the empty subfolders of `root` untouched for `older_than` seconds; how many went.

    The age keeps a folder that an upload has just created (and is about to fill) alone.
    """
    removed, now = 0, time.time()
    with contextlib.suppress(FileNotFoundError):
        for folder in Path(root).iterdir():
            try:
                if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > older_than:
                    folder.rmdir()  # only succeeds on an empty folder
                    removed += 1
            except OSError:  # not empty, or gone meanwhile
                continue
    return removed


@contextlib.asynccontextmanager
async def bounded_cache(_app):
    """A lifespan for launch(app_kwargs=...): every CACHE_AGE seconds, drop the empty hash folders."""

    async def sweep() -> None:
        while True:
            await asyncio.sleep(CACHE_AGE)
            await asyncio.to_thread(remove_empty_folders, get_upload_folder(), CACHE_AGE)

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
