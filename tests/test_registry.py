import subprocess
import sys

import pytest

from model import load_classifier
from model.paths import ASSETS, ROOT
from model.registry import DEFAULT, NETWORKS, spec


def test_every_network_is_named_once_and_ships_its_weights():
    assert DEFAULT in NETWORKS
    for name, spec in NETWORKS.items():
        assert spec.name == name and spec.title and spec.summary
        assert 0 < spec.unsure_below < 1
        assert spec.weights.parent == ASSETS and spec.weights.is_file()
        assert load_classifier(arch=name).spec is spec


def test_every_network_builds_from_its_code_path():
    for spec in NETWORKS.values():
        assert spec.build() is not None


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=", ".join(NETWORKS)):
        spec("resnet")


@pytest.mark.slow
@pytest.mark.parametrize("command", [["train.py"], ["-m", "model", "predict", "x"], ["-m", "bench.drawn_digits"],
                                     ["-m", "bench.inference"], ["-m", "bench.training"]])
def test_command_lines_offer_exactly_the_registry(command):
    result = subprocess.run([sys.executable, *command, "--arch", "nothing"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert f"choose from {', '.join(repr(n) for n in NETWORKS)}" in result.stderr
