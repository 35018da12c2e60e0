"""Every shell command and Python block in README.md runs, so an example cannot rot unnoticed.

The README's code is extracted and looked up in the tables below. Each command has an entry: run as
written, run with small-size options appended (click keeps an option's last value), or skipped
with the reason. A README command or block without an entry fails the test, and so does an entry
whose command left the README: a new example cannot go untested and the tables cannot go stale.
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

README = Path(__file__).parent.parent / "README.md"


@dataclass(frozen=True)
class Run:
    """Run ``command`` (the README's, unless given) with ``append`` added; ``creates`` must exist after."""

    creates: str
    append: str = ""
    command: str | None = None
    why: str = ""


@dataclass(frozen=True)
class Skip:
    why: str


SHELL: dict[str, Run | Skip] = {
    "python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 . && .venv/bin/malade-export --steps 10 out.onnx":
        Run("out.onnx", command="malade-export --steps 10 out.onnx",
            why="installing into a fresh virtualenv needs the network: the export it ends with runs here"),
    "bash scripts/test.sh": Skip("the test suite itself (it runs this test)"),
    "malade-export --steps 10 out.onnx": Run("out.onnx"),
    "malade-export --noise seed out_seed.onnx": Run("out_seed.onnx", append="--steps 2"),
    "malade-export --format torchscript out.pt": Run("out.pt", append="--steps 2"),
    "malade-export --classifier clf.safetensors --sdae sdae.safetensors --steps 25 --votes 4 m.onnx":
        Run("m.onnx", append="--steps 2 --votes 2"),
    "malade-export --target openvino out_ov.onnx": Run("out_ov.onnx", append="--steps 2"),
    "malade-export --preset cifar10 cifar10.onnx": Run("cifar10.onnx", append="--steps 2"),
    "malade defend --classifier model.onnx --dataset folder:imgs/ --mean 0.485,0.456,0.406 "
    "--std 0.229,0.224,0.225 defended.onnx":
        Skip("trains an sDAE: tests/test_defend.py runs this command on a generated image folder and ONNX classifier"),
    "malade triton-repo out.onnx model_repository": Run("model_repository/malade/config.pbtxt"),
    "malade serve model_repository":
        Skip("starts a server until stopped: tests/test_serving_server.py runs it and stops it by signal"),
}

# Python blocks, by their first line: the names a block uses without defining, set up beforehand.
PYTHON: dict[str, str | Skip] = {
    "from malade_export.runtime import Session        # ONNX Runtime; imports onnxruntime + numpy only":
        "images = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)",
    "from malade_export import load_defense, export_defense, Schedule":
        "import torch\nx = torch.rand(2, 1, 28, 28)",
}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def readme_commands() -> list[str]:
    """Each shell command of the README (comments and blank lines dropped, trailing comments cut)."""
    commands = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            command = line.split(" #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def readme_python() -> dict[str, str]:
    return {block.strip().splitlines()[0]: block for block in _blocks("python")}


def test_every_readme_command_and_block_has_an_entry_and_no_entry_is_stale():
    commands, blocks = readme_commands(), readme_python()
    assert commands and blocks, "no code found in README.md: the extraction broke"
    assert [c for c in commands if c not in SHELL] == [], "README commands without an entry in SHELL"
    assert [b for b in blocks if b not in PYTHON] == [], "README Python blocks without an entry in PYTHON"
    assert [c for c in SHELL if c not in commands] == [], "SHELL entries whose command left the README"
    assert [b for b in PYTHON if b not in blocks] == [], "PYTHON entries whose block left the README"


def _invoke(command: str) -> None:
    from malade_export.cli.export import main as export_main
    from malade_export.cli.main import main

    program, *args = shlex.split(command)
    entry = {"malade-export": export_main, "malade": main}[program]
    result = CliRunner().invoke(entry, args)
    assert result.exit_code == 0, f"{command}: {result.output}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_checkpoints) -> Path:
    """A folder holding the files README commands name as their own (clf.safetensors, sdae.safetensors)."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copy(tiny_checkpoints["classifier"], folder / "clf.safetensors")
    shutil.copy(tiny_checkpoints["sdae"], folder / "sdae.safetensors")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c, e in SHELL.items() if isinstance(e, Run)])
def test_readme_command_runs(command, workdir, monkeypatch):
    entry = SHELL[command]
    assert isinstance(entry, Run)
    monkeypatch.chdir(workdir)
    if "out.onnx" in command.split() and entry.creates != "out.onnx" and not (workdir / "out.onnx").exists():
        _invoke("malade-export --steps 2 out.onnx")  # commands that read the first command's file
    _invoke(f"{entry.command or command} {entry.append}".strip())
    assert (workdir / entry.creates).stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("first_line", [b for b, e in PYTHON.items() if not isinstance(e, Skip)])
def test_readme_python_block_runs(first_line, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    if not (workdir / "out.onnx").exists():  # the Serve block loads the file the first command writes
        _invoke("malade-export --steps 2 out.onnx")
    namespace: dict[str, object] = {"np": np}
    exec(str(PYTHON[first_line]), namespace)
    exec(readme_python()[first_line], namespace)
