"""Write a copy of this project ready to upload to a Hugging Face Space.

    python -m deploy zerogpu OUTDIR    # free ZeroGPU Space: Python 3.12.12, torch 2.11.0 (CUDA build), spaces
    python -m deploy cpu OUTDIR        # paid CPU Space (cpu-basic): as this repository, CPU-only torch

then `hf upload USER/SPACE OUTDIR . --repo-type space` (docs/spaces.md).

Why a command and not one README: a Space reads its configuration from the README's front
matter and installs its requirements.txt, and the two routes need different ones. ZeroGPU
accepts only Python 3.10.13 / 3.12.12 and the torch versions on its list (hub-docs,
spaces-zerogpu.md, "Supported Versions"), while this repository pins the torch it is trained
and tested with. The copy holds what the app needs (the files git tracks, less tests/, bench/
and the test and CI settings), with the README's front matter and requirements.txt rewritten for the route.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from model.paths import ROOT

# hub-docs docs/hub/spaces-zerogpu.md, "Supported Versions" (PyTorch 2.8.0, 2.9.1, 2.10.0, 2.11.0;
# Python 3.12.12, 3.10.13). 3.12 rather than 3.10: numpy, matplotlib and torch have dropped 3.10
# in their newest releases, so 3.12 keeps the Space closest to what CI here runs (3.11).
ZEROGPU_PYTHON = "3.12.12"
ZEROGPU_PYTHONS = ("3.12.12", "3.10.13")
# torchvision 0.26.0 requires torch==2.11.0 exactly (its metadata on PyPI).
ZEROGPU_TORCH = {"torch": "2.11.0", "torchvision": "0.26.0"}
ZEROGPU_TORCHES = ("2.8.0", "2.9.1", "2.10.0", "2.11.0")
# PyTorch's CPU-only wheels. --extra-index-url, not --index-url: every other package still comes
# from PyPI, and pip prefers the CPU index's "+cpu" build of the same pinned version. This index
# cannot be reached from this project's CI, so it is only in the Space's copy.
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
LEFT_OUT = ("tests/", "bench/", ".ci/", ".gitignore", "pytest.ini", "requirements-dev.txt")


def split_readme(text: str) -> tuple[dict, str]:
    """The README's YAML front matter (between the first two `---` lines) and the rest."""
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        raise SystemExit("README.md has no front matter")
    return yaml.safe_load(match.group(1)), text[match.end():]


def front_matter(config: dict) -> str:
    return "---\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True) + "---\n"


def pins(requirements: str) -> dict[str, str]:
    """{package: version} for every `name==version` line."""
    found = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", requirements, re.MULTILINE)
    return {name.lower(): version for name, version in found}


def gpu_functions(source: str) -> list[str]:
    """Names of the functions handed to spaces.GPU in this source: `@spaces.GPU`, `@spaces.GPU(...)`,
    `spaces.GPU(f)` or `spaces.GPU(...)(f)`."""
    def is_gpu(node) -> bool:  # spaces.GPU or spaces.GPU(...)
        target = node.func if isinstance(node, ast.Call) else node
        return isinstance(target, ast.Attribute) and target.attr == "GPU" and getattr(target.value, "id", "") == "spaces"

    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(is_gpu(d) for d in node.decorator_list):
            names.append(node.name)
        elif isinstance(node, ast.Call) and is_gpu(node.func):
            names += [arg.id for arg in node.args if isinstance(arg, ast.Name)]
    return names


def zerogpu(readme: str, requirements: str) -> tuple[str, str]:
    config, body = split_readme(readme)
    config["python_version"] = ZEROGPU_PYTHON
    lines = []
    for line in requirements.splitlines():
        name = re.match(r"^([A-Za-z0-9_.\-]+)==", line)
        if name and name.group(1).lower() in ZEROGPU_TORCH:
            package = name.group(1).lower()
            line = f"{package}=={ZEROGPU_TORCH[package]}"
        lines.append(line)
    note = ("# ZeroGPU Space (written by `python -m deploy zerogpu`): PyPI's torch is the CUDA build,\n"
            "# which ZeroGPU needs, in a version from its supported list.\n")
    return front_matter(config) + body, note + "\n".join(lines) + "\n"


def cpu(readme: str, requirements: str) -> tuple[str, str]:
    note = ("# CPU Space (written by `python -m deploy cpu`): torch's CPU-only build from PyTorch's\n"
            "# own index, a few hundred MB instead of the CUDA build's GBs of GPU libraries.\n")
    return readme, note + CPU_INDEX + "\n" + requirements


def check(readme: str, requirements: str, route: str) -> None:
    """Refuse to write a copy the Space would refuse: the rules each route must meet."""
    config, _ = split_readme(readme)
    versions = pins(requirements)
    problems = []
    for key in ("sdk", "sdk_version", "app_file", "python_version"):
        if key not in config:
            problems.append(f"front matter has no {key}")
    if config.get("sdk") != "gradio":
        problems.append("sdk must be gradio")
    if str(config.get("sdk_version")) != versions.get("gradio"):
        problems.append(f"sdk_version {config.get('sdk_version')} but requirements pin gradio {versions.get('gradio')}")
    if "spaces" not in versions:
        problems.append("requirements do not pin spaces")
    if route == "zerogpu":
        if str(config.get("python_version")) not in ZEROGPU_PYTHONS:
            problems.append(f"python_version {config.get('python_version')} is not one of {ZEROGPU_PYTHONS}")
        if versions.get("torch") not in ZEROGPU_TORCHES:
            problems.append(f"torch {versions.get('torch')} is not one of {ZEROGPU_TORCHES}")
        if CPU_INDEX in requirements:
            problems.append("ZeroGPU needs the CUDA build of torch, not the CPU index")
        app_file = ROOT / str(config.get("app_file", "app.py"))
        if not gpu_functions(app_file.read_text()):
            problems.append(f"{app_file.name} has no @spaces.GPU function: a ZeroGPU Space stops at startup")
    if problems:
        raise SystemExit(f"{route}: " + "; ".join(problems))


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [path for path in listed.splitlines()
            if not path.startswith(LEFT_OUT) and (ROOT / path).is_file()]


def write(route: str, out: Path) -> None:
    readme, requirements = (ROOT / "README.md").read_text(), (ROOT / "requirements.txt").read_text()
    readme, requirements = {"zerogpu": zerogpu, "cpu": cpu}[route](readme, requirements)
    check(readme, requirements, route)
    if out.exists() and any(out.iterdir()) and not (out / "README.md").is_file():
        raise SystemExit(f"{out} is not empty and holds no README.md: not overwriting it")
    for path in tracked_files():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, out / path)
    untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split()
    left = [path for path in untracked if not path.startswith(LEFT_OUT)]
    if left:  # the Space gets what git tracks: say what it will not get
        print(f"warning: not tracked by git, so not copied: {', '.join(left)}")
    (out / "README.md").write_text(readme)
    (out / "requirements.txt").write_text(requirements)
    print(f"wrote the {route} Space to {out}: upload it with `hf upload USER/SPACE {out} . --repo-type space`")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("route", choices=["zerogpu", "cpu"], help="the Space's hardware: free ZeroGPU or a paid CPU")
    parser.add_argument("out", type=Path, help="folder to write the Space's files into (created if needed)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.route, args.out)


if __name__ == "__main__":
    main()
