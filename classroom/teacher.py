"""The teacher's key: fine-tuning, switching back, exporting and wiping need it.

The key comes from the environment variable TEACHER_KEY (a Space secret on Hugging Face).
Without one, a random key is made when the app starts and printed in its console, the way
Jupyter prints its token: whoever started the server is the teacher.

Every privileged handler calls `require` itself. Hiding an endpoint from the API page
(api_visibility="private") does not stop a raw POST to /gradio_api/call/<name>.
"""

from __future__ import annotations

import hmac
import os
import secrets

import gradio as gr

ENV_KEY = "TEACHER_KEY"
REFUSED = ("🔒 That needs the teacher key. Nothing was changed. The key is in the console where the app "
           f"was started (or the {ENV_KEY} secret of the Space).")


def make_key() -> tuple[str, bool]:
    """(the key, whether it was made here rather than given in TEACHER_KEY)."""
    given = os.environ.get(ENV_KEY, "").strip()
    return (given, False) if given else (secrets.token_urlsafe(12), True)


KEY, MADE_HERE = make_key()


def announce() -> None:
    """Print where the teacher finds the key; called once by the app at start."""
    if MADE_HERE:
        print(f"Teacher key for this run: {KEY}  (set {ENV_KEY} to choose your own)", flush=True)
    else:
        print(f"Teacher key: from {ENV_KEY}", flush=True)


def is_teacher(key: str | None) -> bool:
    # compare_digest takes as long whatever the first wrong character, so timing tells nothing.
    return isinstance(key, str) and hmac.compare_digest(key.strip().encode(), KEY.encode())


def require(key: str | None) -> None:
    """Refuse with a clear message (shown in the page, and as the API's error) unless `key` is right."""
    if not is_teacher(key):
        raise gr.Error(REFUSED, title="Teacher only", print_exception=False)
