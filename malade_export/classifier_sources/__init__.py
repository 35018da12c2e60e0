"""Classifier sources: every way a classifier comes in, one registry keyed by format.

``load_classifier`` accepts a project checkpoint (.safetensors), a TorchScript file, a
``torch.export`` program (.pt2), an ONNX file, ``module:callable`` with safetensors weights, or an
``nn.Module``; it returns a ``Checkpoint`` whose model takes [0, 1] pixels and gives logits.
Each format's module says what loading it can execute; pickles are refused everywhere.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoint import Checkpoint, file_sha256, load_checkpoint
from ..errors import MaladeError
from ..registry import Registry
from . import exported_program, onnx_source, python_module, torchscript
from .base import ClassifierSource, Shape, check_data, make_source, resolve_input_shape
from .conventions import INPUT_RANGES, OUTPUT_KINDS, InputConventions, parse_floats

TorchLoader = Callable[[Path], tuple[nn.Module, Shape | None]]


@dataclass(frozen=True)
class TorchFormat:
    """A file format holding a torch classifier: its suffixes, and a loader giving the module and stated shape."""

    suffixes: tuple[str, ...]
    load: TorchLoader


TORCH_FORMATS: Registry[TorchFormat] = Registry("torch classifier format")
TORCH_FORMATS.register("torchscript")(TorchFormat(torchscript.SUFFIXES, torchscript.load_with_shape))
TORCH_FORMATS.register("torch-export")(TorchFormat(exported_program.SUFFIXES, exported_program.load_exported_program))
FORMATS = ("safetensors", "onnx", *TORCH_FORMATS, "module")
PROBE_IMAGES = 64  # random [0, 1] images the ONNX agreement check uses when no data is at hand


def format_of(spec: str | Path) -> str:
    """The format a classifier argument names, by its suffix (or ``module:callable`` form)."""
    text = str(spec)
    if python_module.is_module_spec(text):
        return "module"
    suffix = Path(text).suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in onnx_source.SUFFIXES:
        return "onnx"
    for fmt in TORCH_FORMATS:
        if suffix in TORCH_FORMATS.get(fmt).suffixes:
            return fmt
    if Path(text).is_file() and torchscript.is_torchscript_archive(Path(text)):
        return "torchscript"
    raise MaladeError(f"cannot tell the format of classifier {text}: give .safetensors, .onnx, .pt2 "
                      f"(torch.export), a TorchScript file ({', '.join(torchscript.SUFFIXES)}) or module:callable")


def load_classifier(classifier: str | Path | nn.Module | Checkpoint, *, conventions: InputConventions | None = None,
                    input_shape: Shape | None = None, data_name: str = "the data", weights: str | Path | None = None,
                    torch_form: str | Path | nn.Module | None = None, probe: np.ndarray | None = None) -> Checkpoint:
    """Load ``classifier`` from any supported source (see the module docstring).

    ``input_shape`` is the data's [C, H, W] (from ``data_name``), checked against what the model
    states; ``weights`` is the safetensors state dict for ``module:callable``. For ONNX,
    ``torch_form`` gives gradients instead of the twin, and ``probe`` ([N, C, H, W] in [0, 1])
    is what the torch form is checked on against ONNX Runtime.
    """
    conventions = conventions or InputConventions()
    if isinstance(classifier, Checkpoint):
        return classifier
    if isinstance(classifier, nn.Module):
        return from_module(classifier, input_shape, conventions)
    fmt = format_of(classifier)
    if fmt == "module":
        raw = python_module.build_from_spec(str(classifier), weights)
        shape = resolve_input_shape(None, input_shape, str(classifier), data_name)
        return make_source(raw, fmt, Path(str(classifier)), file_sha256(weights), shape, conventions,  # type: ignore[arg-type]
                           extra={"weights": Path(weights).name})  # type: ignore[arg-type]
    path = Path(classifier)
    if not path.is_file():
        raise MaladeError(f"classifier {path} does not exist")
    if fmt == "safetensors":
        if not conventions.is_identity:
            raise MaladeError("--mean/--std/--input-range/--outputs describe your own classifier; a malade checkpoint "
                              "already takes [0, 1] pixels and gives logits")
        checkpoint = load_checkpoint(path, "classifier")
        if input_shape:
            check_data(checkpoint, input_shape, 0, data_name)
        return checkpoint
    if fmt == "onnx":
        return _load_onnx(path, conventions, input_shape, data_name, torch_form, probe)
    raw, stated = TORCH_FORMATS.get(fmt).load(path)
    shape = resolve_input_shape(stated, input_shape, path.name, data_name)
    return make_source(raw, fmt, path, file_sha256(path), shape, conventions)


def from_module(model: nn.Module, input_shape: Shape | None, conventions: InputConventions | None = None,
                name: str | None = None) -> ClassifierSource:
    """The Python API's way in: your ``nn.Module`` (taking the input its conventions describe)."""
    shape = resolve_input_shape(None, input_shape, name or type(model).__name__, "input_shape")
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return make_source(model, "module", Path(f"{name or type(model).__name__}"), digest.hexdigest(), shape,
                       conventions or InputConventions())


def _load_onnx(path: Path, conventions: InputConventions, input_shape: Shape | None, data_name: str,
               torch_form: str | Path | nn.Module | None, probe: np.ndarray | None) -> ClassifierSource:
    from .onnx_twin import OnnxTwin

    model, stated, classes = onnx_source.load_onnx(path)
    shape = resolve_input_shape(stated, input_shape, path.name, data_name)
    conventions.check_channels(shape[0], path.name)
    if torch_form is None:
        raw, what = OnnxTwin(model, path.name), "the differentiable twin"
    elif isinstance(torch_form, nn.Module):
        raw, what = torch_form, "the given PyTorch form"
    else:
        form = format_of(torch_form)
        if form not in TORCH_FORMATS:
            raise MaladeError(f"--classifier-torch must be TorchScript or .pt2, got {torch_form}")
        raw, form_shape = TORCH_FORMATS.get(form).load(Path(torch_form))
        resolve_input_shape(form_shape, shape, Path(torch_form).name, path.name)
        what = f"--classifier-torch {Path(torch_form).name}"
    raw.eval()
    if probe is None:
        probe = torch.rand(PROBE_IMAGES, *shape, generator=torch.Generator().manual_seed(0)).numpy()
    worst = onnx_source.check_agreement(model, raw, conventions, probe, what, f"{len(probe)} images")
    source = make_source(raw, "onnx", path, file_sha256(path), shape, conventions, stated_classes=classes,
                         onnx_model=model, extra={"opset": onnx_source.default_opset(model),
                                                  "torch_form": what, "max_abs_dlogits_vs_onnxruntime": worst})
    return source


__all__ = ["ClassifierSource", "FORMATS", "INPUT_RANGES", "InputConventions", "OUTPUT_KINDS", "check_data",
           "format_of", "from_module", "load_classifier", "parse_floats"]
