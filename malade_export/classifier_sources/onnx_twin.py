"""A differentiable PyTorch twin of an ONNX classifier, for the operators classifiers use.

Training the sDAE and white-box attacks need gradients through the classifier; ONNX Runtime
gives none, and the ONNX -> PyTorch converters on PyPI import torchvision, which does not load
beside the pinned CPU torch here. The twin interprets the graph node by node with torch
functions, holding the initializers as frozen buffers. It is used for gradients only: what ships
is the user's ONNX graph itself, and the twin is checked against ONNX Runtime before it is used.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from torch import nn

from ..errors import MaladeError

Op = Callable[[list[Any], dict[str, Any]], list[torch.Tensor]]
ONNX_TO_TORCH_DTYPE = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16,
                       11: torch.float64}


def _pads(attrs: dict[str, Any], spatial: int) -> list[int]:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise MaladeError(f"auto_pad={attrs['auto_pad']!r} is not supported by the twin; re-export with explicit pads")
    return list(attrs.get("pads", [0] * (2 * spatial)))


def _pad_input(x: torch.Tensor, pads: list[int], value: float = 0.0) -> tuple[torch.Tensor, tuple[int, int]]:
    """ONNX pads [t, l, b, r]: symmetric ones go to the op, the rest to F.pad."""
    top, left, bottom, right = pads
    if top == bottom and left == right:
        return x, (top, left)
    return F.pad(x, (left, right, top, bottom), value=value), (0, 0)


def _conv(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, w = i[0], i[1]
    if x.dim() != 4:
        raise MaladeError("the twin supports 2-D convolutions only")
    x, pad = _pad_input(x, _pads(a, 2))
    return [F.conv2d(x, w, i[2] if len(i) > 2 else None, tuple(a.get("strides", [1, 1])), pad,
                     tuple(a.get("dilations", [1, 1])), int(a.get("group", 1)))]


def _gemm(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, w = i[0], i[1]
    x = x.t() if a.get("transA", 0) else x
    w = w.t() if a.get("transB", 0) else w
    out = float(a.get("alpha", 1.0)) * (x @ w)
    return [out + float(a.get("beta", 1.0)) * i[2] if len(i) > 2 and i[2] is not None else out]


def _pool(i: list[Any], a: dict[str, Any], kind: str) -> list[torch.Tensor]:
    x = i[0]
    kernel = tuple(a["kernel_shape"])
    strides = tuple(a.get("strides", [1] * len(kernel)))
    ceil = bool(a.get("ceil_mode", 0))
    if kind == "max":
        x, pad = _pad_input(x, _pads(a, 2), value=-math.inf)
        return [F.max_pool2d(x, kernel, strides, pad, tuple(a.get("dilations", [1, 1])), ceil_mode=ceil)]
    include = bool(a.get("count_include_pad", 0))
    pads = _pads(a, 2)
    if pads[0] != pads[2] or pads[1] != pads[3]:
        if not include:
            raise MaladeError("the twin supports asymmetric AveragePool pads only with count_include_pad=1")
        x, pad = _pad_input(x, pads)
    else:
        pad = (pads[0], pads[1])
    return [F.avg_pool2d(x, kernel, strides, pad, ceil_mode=ceil, count_include_pad=include)]


def _batch_norm(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, scale, bias, mean, var = i[:5]
    return [F.batch_norm(x, mean, var, scale, bias, False, 0.0, float(a.get("epsilon", 1e-5)))]


def _reshape(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, shape = i[0], [int(d) for d in i[1].tolist()]
    if not a.get("allowzero", 0):
        shape = [x.shape[k] if d == 0 else d for k, d in enumerate(shape)]
    return [x.reshape(shape)]


def _flatten(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, axis = i[0], int(a.get("axis", 1))
    axis = axis + x.dim() if axis < 0 else axis
    return [x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)]


def _axes(i: list[Any], a: dict[str, Any]) -> list[int]:
    if len(i) > 1 and i[1] is not None:
        return [int(v) for v in i[1].tolist()]
    return [int(v) for v in a.get("axes", [])]


def _unsqueeze(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x = i[0]
    rank = x.dim() + len(_axes(i, a))
    for axis in sorted(d + rank if d < 0 else d for d in _axes(i, a)):
        x = x.unsqueeze(axis)
    return [x]


def _squeeze(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x = i[0]
    axes = _axes(i, a) or [d for d in range(x.dim()) if x.shape[d] == 1]
    for axis in sorted((d + x.dim() if d < 0 else d for d in axes), reverse=True):
        x = x.squeeze(axis)
    return [x]


def _shape(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    dims = list(i[0].shape)[int(a.get("start", 0)): a.get("end")]
    return [torch.tensor(dims, dtype=torch.int64)]


def _gather(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    x, index, axis = i[0], i[1].long(), int(a.get("axis", 0))
    index = torch.where(index < 0, index + x.shape[axis], index)
    picked = torch.index_select(x, axis, index.reshape(-1))
    return [picked.reshape((*x.shape[:axis], *index.shape, *x.shape[axis + 1:]))]


def _clip(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    lo = i[1] if len(i) > 1 and i[1] is not None else a.get("min")
    hi = i[2] if len(i) > 2 and i[2] is not None else a.get("max")
    return [torch.clamp(i[0], min=lo, max=hi)]


def _constant(i: list[Any], a: dict[str, Any]) -> list[torch.Tensor]:
    if "value" in a:
        return [torch.from_numpy(numpy_helper.to_array(a["value"]).copy())]
    for key in ("value_float", "value_int"):
        if key in a:
            return [torch.tensor(a[key])]
    for key in ("value_floats", "value_ints"):
        if key in a:
            return [torch.tensor(list(a[key]))]
    raise MaladeError("the twin supports Constant nodes holding tensors or numbers only")


def _torch_dtype(onnx_type: int) -> torch.dtype:
    if onnx_type not in ONNX_TO_TORCH_DTYPE:
        raise MaladeError(f"the twin cannot Cast to ONNX type {onnx_type}")
    return ONNX_TO_TORCH_DTYPE[onnx_type]


def _softmax(fn: Callable[..., torch.Tensor]) -> Op:
    return lambda i, a: [fn(i[0], dim=int(a.get("axis", -1)))]


OPS: dict[str, Op] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": lambda i, a: [torch.matmul(i[0], i[1])],
    "Add": lambda i, a: [i[0] + i[1]],
    "Sub": lambda i, a: [i[0] - i[1]],
    "Mul": lambda i, a: [i[0] * i[1]],
    "Div": lambda i, a: [i[0] / i[1]],
    "Relu": lambda i, a: [F.relu(i[0])],
    "LeakyRelu": lambda i, a: [F.leaky_relu(i[0], float(a.get("alpha", 0.01)))],
    "Sigmoid": lambda i, a: [torch.sigmoid(i[0])],
    "Tanh": lambda i, a: [torch.tanh(i[0])],
    "Clip": _clip,
    "MaxPool": lambda i, a: _pool(i, a, "max"),
    "AveragePool": lambda i, a: _pool(i, a, "avg"),
    "GlobalAveragePool": lambda i, a: [i[0].mean(dim=(2, 3), keepdim=True)],
    "GlobalMaxPool": lambda i, a: [i[0].amax(dim=(2, 3), keepdim=True)],
    "BatchNormalization": _batch_norm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": lambda i, a: [i[0].permute(*a.get("perm", range(i[0].dim() - 1, -1, -1)))],
    "Concat": lambda i, a: [torch.cat(list(i), dim=int(a["axis"]))],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Shape": _shape,
    "Gather": _gather,
    "Cast": lambda i, a: [i[0].to(_torch_dtype(int(a["to"])))],
    "Softmax": _softmax(torch.softmax),
    "LogSoftmax": _softmax(torch.log_softmax),
    "Identity": lambda i, a: [i[0]],
    "Dropout": lambda i, a: [i[0]],  # inference: the identity (its mask output is refused below)
    "Constant": _constant,
}


def unsupported_ops(graph: onnx.GraphProto) -> list[str]:
    """Operators the twin cannot run, sorted; a Dropout whose mask is used counts as one."""
    bad = {n.op_type for n in graph.node if n.op_type not in OPS or n.domain not in ("", "ai.onnx")}
    if any(n.op_type == "Dropout" and len(n.output) > 1 and n.output[1] for n in graph.node):
        bad.add("Dropout(mask)")
    if any(n.op_type == "MaxPool" and len(n.output) > 1 and n.output[1] for n in graph.node):
        bad.add("MaxPool(indices)")
    return sorted(bad)


class OnnxTwin(nn.Module):
    """Runs ``model``'s graph with torch ops; initializers become frozen buffers."""

    def __init__(self, model: onnx.ModelProto, source: str) -> None:
        super().__init__()
        graph = model.graph
        missing = unsupported_ops(graph)
        if missing:
            raise MaladeError(f"ONNX classifier {source} uses operators the differentiable twin does not implement: "
                              f"{', '.join(missing)}; give its PyTorch form too (--classifier-torch)")
        self.slots: dict[str, str] = {}
        for k, init in enumerate(graph.initializer):
            self.register_buffer(f"init_{k}", torch.from_numpy(numpy_helper.to_array(init).copy()))
            self.slots[init.name] = f"init_{k}"
        self.nodes = [(n.op_type, list(n.input), list(n.output),
                       {a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in graph.node]
        self.input_name = next(i.name for i in graph.input if i.name not in self.slots)
        self.output_name = graph.output[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, Any] = {name: getattr(self, slot) for name, slot in self.slots.items()}
        values[self.input_name] = x
        values[""] = None
        for op_type, inputs, outputs, attrs in self.nodes:
            results = OPS[op_type]([values[name] for name in inputs], attrs)
            for name, value in zip(outputs, results, strict=False):  # unused optional outputs are left unset
                values[name] = value
        return values[self.output_name]
