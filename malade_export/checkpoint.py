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

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from .atomic import write_bytes_atomic
from .checkpoint_schema import check_tensors, validate_config
from .errors import MaladeError
from .models import build_model

CONFIG_KEY = "malade_config"
SUFFIX = ".safetensors"
MAX_HEADER_BYTES = 1 << 20  # this package's headers are a few KB; a larger one is refused unread


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
    write_bytes_atomic(target, save(tensors, metadata={CONFIG_KEY: json.dumps(config, sort_keys=True)}))
    return target


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensor table, config) from the safetensors header; anything that is not safetensors is refused unread."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
        header_len = int.from_bytes(head[:8], "little")
        if len(head) < 9 or head[8:9] != b"{" or header_len > MAX_HEADER_BYTES or 8 + header_len > size:
            if head[:2] == b"PK" or head[:1] == b"\x80":  # torch.save zip archive or raw pickle
                raise MaladeError(f"{path} is a pickled checkpoint; refused because loading it could run code "
                                  "(use .safetensors)")
            raise MaladeError(f"{path} is not a safetensors checkpoint (bad header)")
        try:
            header = json.loads(head[8:] + handle.read(header_len - 1))
            config = json.loads(header["__metadata__"][CONFIG_KEY])
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise MaladeError(f"{path} is not a malade checkpoint (no readable config in its header)") from exc
    if not isinstance(header, dict):
        raise MaladeError(f"{path} is not a safetensors checkpoint (bad header)")
    return header, config


def _expected_tensors(model: nn.Module) -> dict[str, tuple[str, tuple[int, ...]]]:
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    return {k: (names.get(v.dtype, str(v.dtype)), tuple(v.shape)) for k, v in model.state_dict().items()}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _checked_header(path: Path, expect_kind: str | tuple[str, ...] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if not path.is_file():
        raise MaladeError(f"checkpoint {path} does not exist")
    header, config = _read_header(path)
    kinds = (expect_kind,) if isinstance(expect_kind, str) else expect_kind
    return header, validate_config(path, config, kinds)


def check_config(path: str | Path, expect_kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """The checkpoint's config, read from its header and checked against the schema; nothing else is read."""
    return _checked_header(Path(path), expect_kind)[1]


def _inspect(path: Path, expect_kind: str | tuple[str, ...] | None) -> tuple[dict[str, Any], nn.Module]:
    header, config = _checked_header(path, expect_kind)
    try:
        with torch.device("meta"):
            model = build_model(config)
    except (RuntimeError, ValueError) as exc:  # e.g. an input too small for the architecture's strides
        raise MaladeError(f"{path}: its config does not build a network: {_first_line(exc)}") from None
    check_tensors(path, header, _expected_tensors(model))
    return config, model


def load_checkpoint(path: str | Path, expect_kind: str | tuple[str, ...] | None = None) -> Checkpoint:
    """Rebuild the network stored at ``path``; refuses pickles, corrupt files, wrong kinds and non-finite weights.

    The config is checked against a schema and the header's tensor table against the network the
    config describes (built on the meta device, allocating nothing) before any tensor is read.
    """
    path = Path(path)
    config, model = _inspect(path, expect_kind)
    try:
        state = load_file(str(path))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise MaladeError(f"{path} is corrupt or does not match its config: {_first_line(exc)}") from None
    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise MaladeError(f"{path}: tensor {name!r} holds NaN or infinite values")
    model = model.to_empty(device="cpu")  # fresh, aligned memory: kernels then match a freshly built model bit for bit
    model.load_state_dict(state, strict=True)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return Checkpoint(model, config, file_sha256(path), path)
