"""TorchScript files (``torch.jit.save``): a program for the TorchScript interpreter.

What loading can execute: ``torch.jit.load`` reads the archive's tensors and constants with
TorchScript's own C++ unpickler, which rebuilds tensors, containers and TorchScript classes and
resolves no other Python name (a pickle that names ``os.system`` fails to load), and compiles the
archive's TorchScript source. Running it runs only TorchScript operators registered in this process;
it cannot import Python modules or call Python functions. It is still a program from the file's
author: the interpreter is not a sandbox. A ``torch.save`` pickle with a ``.pt`` name is refused.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from torch import nn

from ..errors import MaladeError

SUFFIXES = (".pt", ".pth", ".ts", ".jit", ".torchscript")


def is_torchscript_archive(path: Path) -> bool:
    """A TorchScript archive holds compiled source (``code/``) and ``constants.pkl``; a torch.save zip does not."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any("/code/" in n for n in names) and any(n.endswith("/constants.pkl") for n in names)


def load_torchscript(path: Path) -> nn.Module:
    """The scripted module, or a one-line refusal (pickles are never unpickled here)."""
    if not is_torchscript_archive(path):
        with open(path, "rb") as handle:
            head = handle.read(2)
        if head == b"PK" or head[:1] == b"\x80":
            raise MaladeError(f"{path} is a torch.save pickle, not TorchScript; refused because loading it could run "
                              "code (save the model with torch.jit.save, torch.export.save or as .safetensors)")
        raise MaladeError(f"{path} is not a TorchScript archive")
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"{path} is not a loadable TorchScript file: {first[:300]}") from exc


def load_with_shape(path: Path) -> tuple[nn.Module, None]:
    """A TorchScript file states no input shape; the data gives it."""
    return load_torchscript(path), None
