"""A classifier from any supported source, seen by the rest of the package as a checkpoint.

``ClassifierSource`` extends ``Checkpoint``: its ``model`` is the user's classifier wrapped in its
declared input conventions (pixels in [0, 1] in, logits out), frozen, so the chain, the sDAE
trainer, the attacks and the exporter use it exactly as they use a classifier A-E.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import Checkpoint
from ..errors import MaladeError
from .conventions import InputConventions, WithConventions

Shape = tuple[int, int, int]
PROBE_BATCH = 2  # a forward pass at batch 2 also catches a classifier fixed to batch 1


@dataclass
class ClassifierSource(Checkpoint):
    """``model``: conventions + the user's classifier; ``onnx_model``: the user's ONNX file, fused unchanged."""

    fmt: str = "safetensors"
    conventions: InputConventions = field(default_factory=InputConventions)
    onnx_model: Any = None  # onnx.ModelProto when the classifier came as ONNX

    @property
    def input_shape(self) -> Shape:
        return tuple(self.config["input_shape"])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return int(self.config["num_classes"])


def shape_text(shape: Any) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def resolve_input_shape(stated: Shape | None, given: Shape | None, source: str, given_from: str) -> Shape:
    """The model's own input shape where it states one, checked against the data's; one of them is needed."""
    if stated and given and tuple(stated) != tuple(given):
        raise MaladeError(f"classifier {source} takes input {shape_text(stated)} but {given_from} has images "
                          f"{shape_text(given)}")
    shape = stated or given
    if not shape:
        raise MaladeError(f"classifier {source} does not state its input shape; give the data (or --input-shape)")
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


def freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def probe_classes(model: nn.Module, input_shape: Shape, source: str) -> int:
    """Run one forward pass on zeros: the class count, and a one-line error when the model cannot run."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(PROBE_BATCH, *input_shape))
    except Exception as exc:  # a user's model may raise anything; say so in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"classifier {source} fails on a batch of {PROBE_BATCH} images {shape_text(input_shape)}: "
                          f"{first[:300]}") from exc
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != PROBE_BATCH:
        got = shape_text(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise MaladeError(f"classifier {source} must return one score per class [B, K]; it returned {got}")
    return int(out.shape[1])


def make_source(raw: nn.Module, fmt: str, path: Path, sha256: str, input_shape: Shape,
                conventions: InputConventions, *, stated_classes: int | None = None, onnx_model: Any = None,
                extra: dict[str, Any] | None = None) -> ClassifierSource:
    """Wrap ``raw`` in ``conventions``, probe it, and describe it like a checkpoint config."""
    conventions.check_channels(input_shape[0], f"{path.name}")
    model = freeze(WithConventions(freeze(raw), conventions, input_shape[0]))
    classes = probe_classes(model, input_shape, path.name)
    if stated_classes and stated_classes != classes:
        raise MaladeError(f"classifier {path.name} states {stated_classes} classes but returns {classes}")
    config: dict[str, Any] = {"kind": "classifier", "arch": None, "format": fmt, "input_shape": list(input_shape),
                              "num_classes": classes, "conventions": conventions.to_dict(), **(extra or {})}
    return ClassifierSource(model, config, sha256, path, fmt=fmt, conventions=conventions, onnx_model=onnx_model)


def check_data(source: Checkpoint, input_shape: Shape, num_classes: int, data_name: str) -> None:
    """The data fits the classifier: same image shape, no label beyond its classes."""
    stated = tuple(source.config["input_shape"])
    if stated != tuple(input_shape):
        raise MaladeError(f"classifier {source.path.name} takes input {shape_text(stated)} but {data_name} has "
                          f"images {shape_text(input_shape)}")
    classes = int(source.config.get("num_classes", 0))
    if num_classes > classes:
        raise MaladeError(f"classifier {source.path.name} has {classes} classes but {data_name} has {num_classes}")
