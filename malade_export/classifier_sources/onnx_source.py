"""ONNX classifiers: parsed as protobuf (data, no code), fused unchanged into the exported file.

What loading can execute: nothing; an ONNX file is a protobuf of operators and tensors. Running it
runs ONNX operators in ONNX Runtime. Nodes outside the standard ``ai.onnx`` domain (custom or
contrib operators) are refused, and so are files whose weights live in external files.
Gradients come from a torch form checked against ONNX Runtime: the twin (``onnx_twin``), or the
user's own PyTorch form given beside it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ..errors import MaladeError
from .base import Shape
from .conventions import InputConventions

SUFFIXES = (".onnx",)
MIN_OPSET, MAX_OPSET = 13, 21  # the range the chain is exported at: it must match the classifier's opset
STANDARD_DOMAINS = ("", "ai.onnx")
AGREEMENT_TOLERANCE = 1e-3  # max |dlogits| allowed between the torch form and ONNX Runtime, per unit of logit scale


def default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in STANDARD_DOMAINS), 0)


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value.type.tensor_type.shape.dim]


def load_onnx(path: Path) -> tuple[onnx.ModelProto, Shape | None, int | None]:
    """The checked model, the [C, H, W] and class count it states (None where a dim is symbolic)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf and the checker raise several types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MaladeError(f"{path} is not a valid ONNX model: {first[:300]}") from exc
    graph = model.graph
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in graph.initializer):
        raise MaladeError(f"{path} keeps its weights in external files; save it as one file")
    custom = sorted({n.domain for n in graph.node if n.domain not in STANDARD_DOMAINS})
    if custom:
        raise MaladeError(f"{path} uses operators from non-standard domains {custom}; refused")
    opset = default_opset(model)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise MaladeError(f"{path} is at opset {opset}; the fused file needs {MIN_OPSET}..{MAX_OPSET} "
                          "(re-export the classifier at one of those)")
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise MaladeError(f"{path} has {len(inputs)} inputs and {len(graph.output)} outputs; "
                          "a classifier has one of each")
    if inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise MaladeError(f"{path} takes {onnx.helper.tensor_dtype_to_np_dtype(inputs[0].type.tensor_type.elem_type)} "
                          "input; the chain feeds float32")
    in_dims, out_dims = _dims(inputs[0]), _dims(graph.output[0])
    if len(in_dims) != 4:
        raise MaladeError(f"{path} takes a {len(in_dims)}-d input; a classifier of images takes [B, C, H, W]")
    if isinstance(in_dims[0], int) and in_dims[0] > 0:
        raise MaladeError(f"{path} fixes its batch size to {in_dims[0]}; re-export it with a dynamic batch axis")
    shape = tuple(in_dims[1:]) if all(isinstance(d, int) and d > 0 for d in in_dims[1:]) else None
    classes = out_dims[1] if len(out_dims) == 2 and isinstance(out_dims[1], int) and out_dims[1] > 0 else None
    return model, shape, classes  # type: ignore[return-value]


def run_onnxruntime(model: onnx.ModelProto, inputs: np.ndarray) -> np.ndarray:
    """The user's classifier in ONNX Runtime (CPU) on already preprocessed inputs."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(inputs, dtype=np.float32)})[0]


def preprocess_numpy(images: np.ndarray, conventions: InputConventions) -> np.ndarray:
    """The declared preprocessing in numpy: what the fused graph does between the chain and the classifier."""
    scale, shift = conventions.scale_shift(images.shape[1])
    view = (1, -1, 1, 1)
    return (images * np.asarray(scale, np.float32).reshape(view) + np.asarray(shift, np.float32).reshape(view)
            ).astype(np.float32)


def max_disagreement(model: onnx.ModelProto, torch_form: nn.Module, conventions: InputConventions,
                     images: np.ndarray, batch_size: int = 256) -> tuple[float, float]:
    """Max |torch form - ONNX Runtime| over ``images`` ([0, 1] pixels), and the largest |output| seen."""
    worst = scale = 0.0
    for start in range(0, len(images), batch_size):
        inputs = preprocess_numpy(images[start: start + batch_size], conventions)
        expected = run_onnxruntime(model, inputs)
        with torch.no_grad():
            got = torch_form(torch.from_numpy(inputs)).numpy()
        worst = max(worst, float(np.abs(got - expected).max()))
        scale = max(scale, float(np.abs(expected).max()))
    return worst, scale


def check_agreement(model: onnx.ModelProto, torch_form: nn.Module, conventions: InputConventions,
                    images: np.ndarray, what: str, source: str) -> float:
    """Refuse a torch form that does not compute the ONNX classifier; returns max |dlogits|."""
    worst, scale = max_disagreement(model, torch_form, conventions, images)
    if not worst <= AGREEMENT_TOLERANCE * max(1.0, scale):
        raise MaladeError(f"{what} disagrees with ONNX Runtime on {source}: max |dlogits| = {worst:.3g} "
                          f"(tolerance {AGREEMENT_TOLERANCE * max(1.0, scale):.3g} on {len(images)} images)")
    return worst
