"""The shape of the house: what a person runs at the top, and a model/ that stands on its own."""

import ast

from model.paths import ROOT

MODEL = ROOT / "model"


def project_names() -> set[str]:
    """Every name that imports something of this project's own from the top level."""
    return {path.stem for path in ROOT.glob("*.py")} | {path.parent.name for path in ROOT.glob("*/__init__.py")}


def imported_names(source: str) -> set[str]:
    """The top-level names a module imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_model_imports_nothing_of_the_project_outside_model():
    outside = project_names() - {"model"}
    assert outside >= {"training", "views", "classroom", "app", "train"}  # the walk sees the project
    leaks = {str(path.relative_to(ROOT)): sorted(imported_names(path.read_text()) & outside)
             for path in MODEL.rglob("*.py")}
    assert not {module: names for module, names in leaks.items() if names}


def test_the_walk_sees_an_import_hidden_in_a_function():
    assert imported_names("def f():\n    from training.mnist import load_mnist\n") == {"training"}


def test_the_top_level_holds_only_what_a_person_runs():
    assert sorted(path.name for path in ROOT.glob("*.py")) == ["app.py", "train.py"]


def test_no_model_file_is_over_400_lines():
    lengths = {path.name: len(path.read_text().splitlines()) for path in MODEL.glob("*.py")}
    assert not {name: lines for name, lines in lengths.items() if lines > 400}
