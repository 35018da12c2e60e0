"""Run an exported noise-input defence with OpenVINO's CPU plugin, in float32 or bfloat16.

On CPUs with AVX512-BF16 or AMX, bfloat16 runs the chain faster than float32 (docs/openvino_precision.md
says what was measured on which CPU). Without those instructions OpenVINO emulates bf16, several
times slower than f32, so ``precision="bf16"`` is refused there and ``"auto"`` picks f32. OpenVINO
picks bf16 by itself on CPUs that have it, so the precision is always set explicitly here, and
``precision`` reports what OpenVINO actually chose. Seed-mode files are refused: OpenVINO's CPU plugin narrows 64-bit
integers to 32 bits, the int64 seed input itself included (a seed of 2**40 + 12345 arrives as
12345), which breaks the noise generator silently and cannot be undone inside the graph.

Each batch size is compiled once with static shapes on first use (0.1 s here): OpenVINO's CPU
plugin re-infers shapes on every call of a dynamic-batch model, which cost 5-7 % at batch 1.
"""
from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaladeError
from .base import OUTPUTS, RUNTIMES, DefenseSession, Runtime, TensorSpec
from .metadata import read_metadata

PRECISIONS = ("auto", "f32", "bf16")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # the instructions that make bf16 fast; without them OpenVINO emulates it
OV_DTYPES = {"f32": "float32", "i64": "int64", "f16": "float16", "bf16": "bfloat16", "i32": "int32", "u64": "uint64",
             "f64": "float64"}


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def native_bf16(flags: set[str] | None = None) -> bool:
    """True where the CPU computes bf16 in hardware (AVX512-BF16 or AMX-BF16)."""
    return bool(set(BF16_FLAGS) & (cpu_flags() if flags is None else flags))


def resolve_precision(precision: str, flags: set[str] | None = None) -> str:
    """"auto" -> bf16 on CPUs with native bf16, else f32; "bf16" is refused where it would be emulated."""
    if precision not in PRECISIONS:
        raise MaladeError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    native = native_bf16(flags)
    if precision == "auto":
        return "bf16" if native else "f32"
    if precision == "bf16" and not native:
        raise MaladeError("this CPU has no native bf16 (no avx512_bf16 or amx_bf16 flag): OpenVINO would emulate "
                          "it, slower than f32; use precision='f32' or 'auto'")
    return precision


def _spec(port: Any) -> TensorSpec:
    dims = tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())
    kind = port.get_element_type().get_type_name()
    return TensorSpec(port.get_any_name(), OV_DTYPES.get(kind, kind), dims)
STATIC_BATCH_SIZES = 8  # batch sizes compiled with static shapes; calls with further sizes use the dynamic model


def _framework_metadata(model: Any) -> dict[str, str]:
    """The ONNX file's metadata_props, which OpenVINO keeps under rt_info['framework']."""
    if not model.has_rt_info(["framework"]):
        return {}
    keys = model.get_rt_info()["framework"]  # a dict of OVAny values
    return {key: model.get_rt_info(["framework", key]).astype(str) for key in keys}


class OpenVINOSession(DefenseSession):
    """``OpenVINOSession(path, precision="bf16").predict(x)``; safe to share between threads."""

    def __init__(self, path: str | Path, precision: str = "auto", threads: int | None = None,
                 clip_input: bool = False, max_batch: int | None = None) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise MaladeError("OpenVINOSession needs openvino (pip install 'malade-export[openvino]')") from None
        precision = resolve_precision(precision)
        path = Path(path)
        if not path.is_file():
            raise MaladeError(f"model file {path} does not exist")
        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # openvino raises RuntimeError subclasses of its own
            raise MaladeError(f"openvino cannot load {path}: {str(exc).splitlines()[0]}") from exc
        try:
            inputs, outputs = [_spec(i) for i in model.inputs], [_spec(o) for o in model.outputs]
        except RuntimeError as exc:  # a port without a name
            raise MaladeError(f"{path} is not a malade-export graph: {str(exc).splitlines()[0]}") from None
        self._describe_graph(path, inputs, outputs, read_metadata(_framework_metadata(model)), clip_input, max_batch)
        if self.noise_mode == "seed":
            raise MaladeError(f"{path} is a seed-mode file, which OpenVINO computes wrongly (its CPU plugin narrows "
                              "64-bit integers to 32 bits); export with --noise input for OpenVINO")
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self._core, self._model, self._config = core, model, config
        self.compiled = core.compile_model(model, "CPU", config)  # dynamic batch: the fallback
        chosen = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.precision = "bf16" if "bfloat16" in chosen or "bf16" in chosen else "f32"  # what OpenVINO chose
        self._static: dict[int, Any] = {}  # batch size -> model compiled for it
        self._compile_lock = threading.Lock()
        self._local = threading.local()  # an infer request is not thread-safe: one per thread and model

    def _compiled_for(self, batch: int) -> Any:
        with self._compile_lock:
            if batch not in self._static and len(self._static) < STATIC_BATCH_SIZES:
                model = self._model.clone()
                model.reshape({"x": [batch, *self.input_shape],
                               "noise": [self.steps, self.votes * batch, *self.input_shape]})
                self._static[batch] = self._core.compile_model(model, "CPU", self._config)
            return self._static.get(batch, self.compiled)

    def _request(self, batch: int) -> Any:
        requests = self._local.__dict__.setdefault("requests", {})  # batch size (None: dynamic) -> request
        if batch in requests:
            return requests[batch]
        compiled = self._compiled_for(batch)
        key = None if compiled is self.compiled else batch  # past the static limit: all such sizes share one
        if key not in requests:
            requests[key] = compiled.create_infer_request()
        return requests[key]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = self._request(len(feeds["x"])).infer(feeds)
        by_name = {port.get_any_name(): np.array(value) for port, value in results.items()}
        return {name: by_name[name] for name in OUTPUTS}


def open_exact(path: str | Path, precision: str, threads: int | None = None) -> OpenVINOSession:
    """An OpenVINOSession that really runs ``precision``, or a MaladeError saying this CPU lacks it."""
    session = OpenVINOSession(path, precision=precision, threads=threads)
    if session.precision != precision:
        raise MaladeError(f"OpenVINO runs {session.precision}, not {precision}, on this CPU "
                          "(bf16 needs AVX512-BF16 or AMX)")
    return session


RUNTIMES.register("openvino-f32")(Runtime(partial(open_exact, precision="f32"), "openvino"))
RUNTIMES.register("openvino-bf16")(Runtime(partial(open_exact, precision="bf16"), "openvino"))
