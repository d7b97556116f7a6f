"""Hosting: the served app on a ZeroGPU-flagged server, Python 3.10-3.12, `spaces`, the Space recipes."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import yaml
from gradio_client import Client, handle_file

import deploy.__main__ as deploy
from model.examples import example_paths
from bench.browser import free_port
from model.paths import ROOT

pytestmark = pytest.mark.slow  # serves the app and builds Spaces

# `spaces` in ZeroGPU mode asserts SPACES_ZERO_DEVICE_API_URL and reports to that API at launch:
# both exist only on a Hugging Face Space. SPACES_ZERO_GPU=true is also what gradio reads (it
# shrinks the queue to one waiting request unless the app sets max_size), and that is what these
# tests can check here, so the flagged server starts the app as where `spaces` is not installed.
WITHOUT_SPACES = "import runpy, sys; sys.modules['spaces'] = None; runpy.run_path('app.py', run_name='__main__')"
# Removed from the standard library in Python 3.12 ("What's New in Python 3.12"). vermin knows
# when things were added, not when they were removed, so this side is checked here.
# vermin has no `python -m vermin`: its console script, installed beside this Python
VERMIN = str(Path(sys.executable).parent / "vermin")
REMOVED_IN_312 = {"asynchat", "asyncore", "distutils", "imp", "smtpd"}


def python_files() -> list[str]:
    skip = {".venv", "data", "runs", ".git", ".gradio", "__pycache__"}
    return sorted(str(path) for path in ROOT.rglob("*.py") if not skip & set(path.relative_to(ROOT).parts))


def start_app(command: list[str], environment: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **environment}
    if "SPACES_ZERO_GPU" not in environment:  # off ZeroGPU, whatever this shell says
        env.pop("SPACES_ZERO_GPU", None)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            Client(url, verbose=False)
            return process, url
        except Exception:
            if process.poll() is not None:
                raise AssertionError(f"the app stopped: {process.stderr.read().decode()[-3000:]}") from None
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the app did not come up in 180 s") from None
            time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def ask_at_once(url: str, count: int) -> list:
    """`count` clients, each with its own session, send one drawn digit to /predict at the same moment."""
    clients = [Client(url, verbose=False) for _ in range(count)]
    files = example_paths()

    def ask(index: int):
        try:
            return clients[index].predict(handle_file(files[index % 10]), api_name="/predict")
        except Exception as error:  # collected: the test reports every failure, not the first
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(ask, range(count)))


def test_a_zerogpu_flagged_server_answers_20_students_at_once():
    process, url = start_app([sys.executable, "-c", WITHOUT_SPACES], {"SPACES_ZERO_GPU": "true"})
    try:
        answers = ask_at_once(url, 20)
    finally:
        stop(process)
    errors = [answer for answer in answers if isinstance(answer, Exception)]
    assert not errors, f"{len(errors)} of 20 failed, e.g. {errors[0]!r}"
    assert [answer["top3"][0]["digit"] for answer in answers] == [i % 10 for i in range(20)]


def test_the_app_starts_and_answers_with_spaces_installed_off_zerogpu():
    import spaces

    process, url = start_app([sys.executable, "app.py"], {})
    try:
        answer = Client(url, verbose=False).predict(handle_file(example_paths()[7]), api_name="/predict")
    finally:
        stop(process)
    assert answer["top3"][0]["digit"] == 7
    # off ZeroGPU the decorator hands the function back unchanged: the GPU work runs here
    assert spaces.GPU(stop) is stop


def test_the_code_runs_on_python_3_10_to_3_12():
    files = python_files()
    result = subprocess.run([VERMIN, "--target=3.10-", "--violations", "--no-tips",
                             "--eval-annotations", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    removed = []
    for path in files:
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            removed += [f"{path}: {name}" for name in names if name.split(".")[0] in REMOVED_IN_312]
    assert not removed, f"gone from Python 3.12: {removed}"


def test_the_version_check_can_fail(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("import tomllib\n")
    result = subprocess.run([VERMIN, "--target=3.10-", "--violations", "--no-tips", str(newer)],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "tomllib" in result.stdout


def front_matter_and_pins(folder):
    config, _ = deploy.split_readme((folder / "README.md").read_text())
    return config, deploy.pins((folder / "requirements.txt").read_text())


def test_the_zerogpu_recipe_writes_a_space_zerogpu_accepts(tmp_path):
    deploy.main(["zerogpu", str(tmp_path)])
    config, pins = front_matter_and_pins(tmp_path)
    assert config["sdk"] == "gradio" and config["app_file"] == "app.py"
    assert config["python_version"] in ("3.12.12", "3.10.13")  # hub-docs spaces-zerogpu.md
    assert pins["torch"] in ("2.8.0", "2.9.1", "2.10.0", "2.11.0")
    assert pins["torchvision"] == "0.26.0" and pins["torch"] == "2.11.0"  # torchvision 0.26.0 requires torch==2.11.0
    assert str(config["sdk_version"]) == pins["gradio"]
    assert "spaces" in pins and "download.pytorch.org" not in (tmp_path / "requirements.txt").read_text()
    assert deploy.gpu_functions((tmp_path / config["app_file"]).read_text()), "no @spaces.GPU function"
    assert (tmp_path / "assets" / "cnn.pt").read_bytes() == (ROOT / "assets" / "cnn.pt").read_bytes()
    assert not (tmp_path / "tests").exists()
    # the copy holds everything the app imports: it builds its page from the copy alone
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "SPACES_ZERO_GPU")}
    built = subprocess.run([sys.executable, "-c", "import app; print(type(app.demo).__name__)"], cwd=tmp_path,
                           env={**env, "GRADIO_ANALYTICS_ENABLED": "False", "DIGIT_LIVE_DIR": str(tmp_path / "live")},
                           capture_output=True, text=True, timeout=600)
    assert built.stdout.strip().endswith("Blocks"), built.stderr[-3000:]
    # everything else is this repository's own
    original, _ = deploy.split_readme((ROOT / "README.md").read_text())
    assert {k: v for k, v in config.items() if k != "python_version"} == {
        k: v for k, v in original.items() if k != "python_version"}
    ours = deploy.pins((ROOT / "requirements.txt").read_text())
    assert {k: v for k, v in pins.items() if k not in ("torch", "torchvision")} == {
        k: v for k, v in ours.items() if k not in ("torch", "torchvision")}


def test_the_cpu_recipe_takes_torch_from_the_cpu_index(tmp_path):
    deploy.main(["cpu", str(tmp_path)])
    requirements = (tmp_path / "requirements.txt").read_text()
    assert deploy.CPU_INDEX in requirements.splitlines()
    assert deploy.pins(requirements) == deploy.pins((ROOT / "requirements.txt").read_text())
    assert (tmp_path / "README.md").read_text() == (ROOT / "README.md").read_text()


@pytest.mark.parametrize("change, complaint", [
    (("python_version: '3.11'", None), "python_version"),
    ((None, ("torch==2.11.0", "torch==2.15.0")), "torch 2.15.0"),
    ((None, ("gradio==6.31.0", "gradio==6.30.0")), "sdk_version"),
    ((None, ("spaces==", "# spaces==")), "spaces"),
])
def test_the_recipe_refuses_what_zerogpu_would_refuse(change, complaint):
    readme, requirements = deploy.zerogpu((ROOT / "README.md").read_text(), (ROOT / "requirements.txt").read_text())
    front, pins = change
    if front:
        config, body = deploy.split_readme(readme)
        readme = deploy.front_matter({**config, **yaml.safe_load(front)}) + body
    if pins:
        requirements = requirements.replace(*pins)
    with pytest.raises(SystemExit, match=complaint):
        deploy.check(readme, requirements, "zerogpu")


def test_the_gpu_function_fine_tunes_and_crosses_a_process_boundary():
    import app
    from training.replay import replay_digits

    classifier = app.live_classifier()
    replay = replay_digits()
    state = {key: value.detach().cpu().clone() for key, value in classifier.network.state_dict().items()}
    arguments = (state, classifier.metadata, replay.floats()[:40], replay.labels[:40], replay.images, replay.labels)
    # On ZeroGPU the arguments and the result are pickled to and from a forked GPU worker.
    pickle.loads(pickle.dumps(arguments))
    fractions = []
    new_state = app.train_class_network(*arguments, steps=3, progress=lambda fraction, text=None: fractions.append(fraction))
    new_state = pickle.loads(pickle.dumps(new_state))
    assert new_state.keys() == state.keys()
    assert all(tensor.device.type == "cpu" for tensor in new_state.values())
    assert any(not torch.equal(new_state[key], state[key]) for key in state), "three steps changed no weight"
    assert fractions and fractions[-1] == 1.0  # off ZeroGPU the progress reaches the page as usual
