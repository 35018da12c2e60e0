"""Which torch device a run uses: "auto" picks CUDA where present; asking for CUDA without one is a user error."""
from __future__ import annotations

from .errors import MaladeError

DEVICE_CHOICES = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise MaladeError("--device cuda requested but no CUDA device is available")
    return name
