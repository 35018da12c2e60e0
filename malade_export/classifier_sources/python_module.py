"""The user's own ``nn.Module``: given directly (Python API) or as ``module:callable`` + safetensors weights.

``module:callable`` imports the named module and calls the callable with no arguments: this runs the
user's own Python code, which the user chose by naming it. The weights are read from safetensors
only (tensors, no code) and must match the module's state dict exactly.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..errors import MaladeError

SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_module_spec(text: str) -> bool:
    return bool(SPEC.match(text)) and not Path(text).exists()


def build_from_spec(spec: str, weights: str | Path | None) -> nn.Module:
    """Import ``module``, call ``callable()``, load ``weights`` (safetensors, strict) into the result."""
    if weights is None:
        raise MaladeError(f"--classifier {spec} needs --classifier-weights (a .safetensors state dict)")
    module_name, _, attr = spec.partition(":")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)  # like `python -m`: the user's own package in the working folder
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise MaladeError(f"cannot import {module_name!r} for --classifier {spec}: {exc}") from exc
    finally:
        if added:
            sys.path.remove(cwd)
    for part in attr.split("."):
        if not hasattr(target, part):
            raise MaladeError(f"{module_name!r} has no attribute {attr!r} (--classifier {spec})")
        target = getattr(target, part)
    if not callable(target):
        raise MaladeError(f"{spec} is not callable")
    model = target()
    if not isinstance(model, nn.Module):
        raise MaladeError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    load_weights(model, Path(weights))
    return model


def load_weights(model: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise MaladeError(f"classifier weights {path} do not exist")
    try:
        state = load_file(str(path))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"{path} does not fit the classifier module: {first[:300]}") from exc
