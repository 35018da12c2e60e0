"""Write a MaladeDefense as a TorchScript file for LibTorch / torch.jit.load users."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..chain import LoadedDefense
from .graphs import build_graph, example_inputs
from .metadata import export_metadata

METADATA_FILE = "malade_metadata.json"


def to_torchscript(loaded: LoadedDefense, noise_mode: str = "input") -> torch.jit.ScriptModule:
    graph = build_graph(loaded.defense, noise_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(graph, example_inputs(loaded.defense, noise_mode, batch=2), check_trace=False)


def write_torchscript(loaded: LoadedDefense, path: str | Path, noise_mode: str = "input") -> None:
    """Trace and save into ``path`` as it is, with the export metadata as an extra file in the archive."""
    scripted = to_torchscript(loaded, noise_mode)
    meta = json.dumps(export_metadata(loaded, noise_mode, "fp32", None), sort_keys=True)
    torch.jit.save(scripted, str(path), _extra_files={METADATA_FILE: meta})


def export_torchscript(loaded: LoadedDefense, out: str | Path, noise_mode: str = "input") -> Path:
    """Trace and save atomically: the file appears complete or not at all."""
    with atomic_path(out) as tmp:
        write_torchscript(loaded, tmp, noise_mode)
    return Path(out)
