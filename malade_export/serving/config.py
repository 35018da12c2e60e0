"""config.pbtxt text for Triton models, built from the tensors an exported file declares.

Text, not protobuf objects: a repository is written without tritonclient installed, and the tests
parse every config back with ``model_config_pb2`` so a typo in a field or enum cannot ship.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MaladeError

ORT_TO_TRITON = {"tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(int64)": "TYPE_INT64",
                 "tensor(int32)": "TYPE_INT32", "tensor(bool)": "TYPE_BOOL", "tensor(uint8)": "TYPE_UINT8"}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output; ``dims`` is the full shape, -1 where the file leaves it dynamic."""

    name: str
    dtype: str  # Triton's TYPE_* name
    dims: tuple[int, ...]


@dataclass(frozen=True)
class OnnxIO:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)


def _dims(shape: Sequence[Any]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape)


def read_onnx_io(path: str | Path) -> OnnxIO:
    """Names, Triton dtypes, dims and ``malade.*`` metadata of an ONNX file (via onnxruntime: no torch)."""
    import onnxruntime as ort

    from ..runtime.metadata import read_metadata

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise MaladeError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc

    def specs(args: Sequence[Any]) -> tuple[TensorSpec, ...]:
        out = []
        for a in args:
            if a.type not in ORT_TO_TRITON:
                raise MaladeError(f"{path}: tensor {a.name} has type {a.type}, which Triton configs here do not map")
            out.append(TensorSpec(a.name, ORT_TO_TRITON[a.type], _dims(a.shape)))
        return tuple(out)

    return OnnxIO(specs(sess.get_inputs()), specs(sess.get_outputs()),
                  read_metadata(sess.get_modelmeta().custom_metadata_map))


@dataclass(frozen=True)
class QueuePolicy:
    """Dynamic batching with a bounded queue: a full queue or an expired request is rejected, never dropped."""

    max_batch_size: int = 32
    # 1000 us cost a lone client 1.7x bare latency; 200 us still batches 8 clients (results/serving)
    max_queue_delay_us: int = 200
    max_queue_size: int = 64
    timeout_us: int = 5_000_000  # a request still queued after this is rejected (clients may ask for less)


def _tensor(spec: TensorSpec, batched: bool) -> str:
    dims = spec.dims[1:] if batched else spec.dims
    lines = [f'    name: "{spec.name}"', f"    data_type: {spec.dtype}"]
    if batched and not dims:  # a per-sample scalar: Triton wants dims [1]; reshape gives the file's [B]
        lines += ["    dims: [ 1 ]", "    reshape: { shape: [ ] }"]
    else:
        lines.append(f"    dims: [ {', '.join(map(str, dims))} ]")
    return "  {\n" + "\n".join(lines) + "\n  }"


def io_block(kind: str, specs: Sequence[TensorSpec], batched: bool) -> str:
    return f"{kind} [\n" + ",\n".join(_tensor(s, batched) for s in specs) + "\n]"


def _parameters(params: dict[str, str]) -> list[str]:
    return [f'parameters: {{ key: "{k}" value: {{ string_value: "{v}" }} }}' for k, v in params.items()]


def model_config(name: str, *, backend: str | None = None, platform: str | None = None, batched: bool,
                 policy: QueuePolicy, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                 kind: str = "KIND_CPU", count: int = 1, gpus: Sequence[int] = (0,),
                 params: dict[str, str] | None = None) -> str:
    """A full config.pbtxt for one backend model (``batched``: leading dim is the batch, dynamic batching on)."""
    head = [f'name: "{name}"', f'backend: "{backend}"' if backend else f'platform: "{platform}"',
            f"max_batch_size: {policy.max_batch_size if batched else 0}"]
    body = [io_block("input", inputs, batched), io_block("output", outputs, batched)]
    gpu = f" gpus: [ {', '.join(map(str, gpus))} ]" if kind == "KIND_GPU" else ""
    body.append(f"instance_group [ {{ count: {count} kind: {kind}{gpu} }} ]")
    if batched:
        body.append(dynamic_batching(policy))
    return "\n".join(head + body + _parameters(params or {})) + "\n"


def dynamic_batching(policy: QueuePolicy) -> str:
    return ("dynamic_batching {\n"
            f"  max_queue_delay_microseconds: {policy.max_queue_delay_us}\n"
            "  default_queue_policy {\n"
            "    timeout_action: REJECT\n"
            f"    default_timeout_microseconds: {policy.timeout_us}\n"
            "    allow_timeout_override: true\n"
            f"    max_queue_size: {policy.max_queue_size}\n"
            "  }\n}")


@dataclass(frozen=True)
class EnsembleStep:
    model: str
    input_map: dict[str, str]  # the step model's input name -> ensemble tensor
    output_map: dict[str, str]  # the step model's output name -> ensemble tensor


def ensemble_config(name: str, *, batched: bool, max_batch_size: int, inputs: Sequence[TensorSpec],
                    outputs: Sequence[TensorSpec], steps: Sequence[EnsembleStep]) -> str:
    def step_text(s: EnsembleStep) -> str:
        maps = [f'      input_map {{ key: "{k}" value: "{v}" }}' for k, v in s.input_map.items()]
        maps += [f'      output_map {{ key: "{k}" value: "{v}" }}' for k, v in s.output_map.items()]
        return f'    {{\n      model_name: "{s.model}"\n      model_version: -1\n' + "\n".join(maps) + "\n    }"

    head = [f'name: "{name}"', 'platform: "ensemble"', f"max_batch_size: {max_batch_size if batched else 0}",
            io_block("input", inputs, batched), io_block("output", outputs, batched)]
    sched = "ensemble_scheduling {\n  step [\n" + ",\n".join(step_text(s) for s in steps) + "\n  ]\n}"
    return "\n".join(head + [sched]) + "\n"
