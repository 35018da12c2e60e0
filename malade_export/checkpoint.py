"""Checkpoints that cannot run code: safetensors weights with the JSON config in the header.

A pickle (``torch.save``) can execute arbitrary code when loaded, so it is refused outright; the
safetensors format holds only tensors and a string-to-string metadata map.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .atomic import atomic_path
from .errors import MaladeError
from .models import build_model

CONFIG_KEY = "malade_config"
SUFFIX = ".safetensors"


@dataclass
class Checkpoint:
    """A rebuilt network (in eval mode) with its config and the file's SHA-256."""

    model: nn.Module
    config: dict[str, Any]
    sha256: str
    path: Path


def checkpoint_path(path: str | Path) -> Path:
    """``out`` and ``out.safetensors`` name the same checkpoint."""
    path = Path(path)
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def save_checkpoint(model: nn.Module, config: dict[str, Any], path: str | Path) -> Path:
    """Write weights + config atomically; returns the final path."""
    target = checkpoint_path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata={CONFIG_KEY: json.dumps(config, sort_keys=True)})
    return target


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_config(path: Path) -> dict[str, Any]:
    """The config from the safetensors header; anything that is not safetensors is refused unread."""
    with open(path, "rb") as handle:
        head = handle.read(9)
        header_len = int.from_bytes(head[:8], "little")
        if len(head) < 9 or head[8:9] != b"{" or header_len > 100_000_000:
            if head[:2] == b"PK" or head[:1] == b"\x80":  # torch.save zip archive or raw pickle
                raise MaladeError(f"{path} is a pickled checkpoint; refused because loading it could run code "
                                  "(use .safetensors)")
            raise MaladeError(f"{path} is not a safetensors checkpoint (bad header)")
        try:
            header = json.loads(head[8:] + handle.read(header_len - 1))
            return json.loads(header["__metadata__"][CONFIG_KEY])
        except (ValueError, KeyError, TypeError) as exc:
            raise MaladeError(f"{path} is not a malade checkpoint (no readable config in its header)") from exc


def load_checkpoint(path: str | Path, expect_kind: str | tuple[str, ...] | None = None) -> Checkpoint:
    """Rebuild the network stored at ``path``; refuses pickles, corrupt files and wrong kinds."""
    path = Path(path)
    if not path.is_file():
        raise MaladeError(f"checkpoint {path} does not exist")
    config = _read_config(path)
    kinds = (expect_kind,) if isinstance(expect_kind, str) else expect_kind
    if kinds and config.get("kind") not in kinds:
        raise MaladeError(f"{path} holds a {config.get('kind')!r} model; expected {' or '.join(kinds)}")
    model = build_model(config)
    try:
        state = load_file(str(path))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"{path} is corrupt or does not match its config: {first}") from exc
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return Checkpoint(model, config, file_sha256(path), path)
