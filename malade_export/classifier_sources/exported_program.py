"""``torch.export`` programs (``.pt2``): an ATen graph plus its weights.

What loading can execute: ``torch.export.load`` keeps weights either raw or pickled, and falls back
to a full ``pickle`` for some payloads, which can run any code. So before loading, the archive's
payload configs are read (JSON): any pickled weight or constant, custom or opaque object, or legacy
layout is refused; every ``torch.load`` during loading is forced to ``weights_only``; and after
loading, every call in the graph must be a PyTorch operator (``torch.ops``), not a Python function.
The program must have been exported with a dynamic batch dimension (``dynamic_shapes``).
"""
from __future__ import annotations

import json
import operator
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from ..errors import MaladeError
from .base import Shape

SUFFIXES = (".pt2",)
FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            configs = [n for n in names if n.endswith(("_weights_config.json", "_constants_config.json"))]
            if not any(n.endswith("/archive_format") for n in names) or not configs:
                raise MaladeError(f"{path} is not a torch.export archive in the current format "
                                  "(save it again with torch.export.save)")
            for name in configs:
                for fqn, meta in json.loads(archive.read(name))["config"].items():
                    if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(("weight_", "tensor_")):
                        raise MaladeError(f"{path} stores {fqn!r} as a pickled object; refused because loading it "
                                          "could run code")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise MaladeError(f"{path} is not a readable torch.export archive: {exc}") from exc


@contextmanager
def _weights_only_loads() -> Iterator[None]:
    previous = os.environ.get(FORCE_WEIGHTS_ONLY)
    os.environ[FORCE_WEIGHTS_ONLY] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(FORCE_WEIGHTS_ONLY, None)
        else:
            os.environ[FORCE_WEIGHTS_ONLY] = previous


def _check_calls(program: torch.export.ExportedProgram, path: Path) -> None:
    allowed = (torch._ops.OpOverload, torch._ops.HigherOrderOperator)
    for node in program.graph.nodes:
        if node.op == "call_function" and not (isinstance(node.target, allowed) or node.target is operator.getitem):
            raise MaladeError(f"{path} calls {node.target!r}, which is not a PyTorch operator; refused")


def _stated_shape(program: torch.export.ExportedProgram) -> Shape | None:
    """[C, H, W] of the one user input, where the program fixed it."""
    user_inputs = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs and "val" in node.meta:
            dims = list(node.meta["val"].shape)[1:]
            if len(dims) == 3 and all(isinstance(d, int) for d in dims):
                return tuple(dims)  # type: ignore[return-value]
    return None


class ExportedModule(nn.Module):
    """The program's module behind a ``train()`` that does not recurse: the program's mode was fixed
    when it was exported, and its module refuses ``eval()``."""

    def __init__(self, program: torch.export.ExportedProgram) -> None:
        super().__init__()
        self.program = program.module()
        self.exported = program  # kept for ONNX export, which takes the program with its dynamic batch

    def train(self, mode: bool = True) -> ExportedModule:
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x)


def load_exported_program(path: Path) -> tuple[nn.Module, Shape | None]:
    """The program as a module, and the input shape it states."""
    _check_archive(path)
    try:
        with _weights_only_loads():
            program = torch.export.load(str(path))
    except Exception as exc:  # torch.export raises many types; one line names the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"{path} is not a loadable torch.export program: {first[:300]}") from exc
    if len(program.graph_signature.user_inputs) != 1:
        raise MaladeError(f"{path} takes {len(program.graph_signature.user_inputs)} inputs; a classifier takes one")
    _check_calls(program, path)
    return ExportedModule(program), _stated_shape(program)
