"""Run an exported noise-input defence with OpenVINO's CPU plugin, in float32 or bfloat16.

On CPUs with AVX512-BF16 or AMX, bfloat16 runs the chain several times faster than float32 (see
the README's latency section, and its robustness check of the bf16 chain). OpenVINO picks bf16
by itself on such CPUs, so the precision is always set explicitly here, and ``precision`` reports
what OpenVINO actually chose. Seed-mode files are refused: OpenVINO's CPU plugin narrows 64-bit
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
from .base import OUTPUTS, RUNTIMES, DefenseSession, Runtime
from .metadata import read_metadata

PRECISIONS = ("f32", "bf16")
STATIC_BATCH_SIZES = 8  # batch sizes compiled with static shapes; calls with further sizes use the dynamic model


def _framework_metadata(model: Any) -> dict[str, str]:
    """The ONNX file's metadata_props, which OpenVINO keeps under rt_info['framework']."""
    if not model.has_rt_info(["framework"]):
        return {}
    keys = model.get_rt_info()["framework"]  # a dict of OVAny values
    return {key: model.get_rt_info(["framework", key]).astype(str) for key in keys}


class OpenVINOSession(DefenseSession):
    """``OpenVINOSession(path, precision="bf16").predict(x)``; safe to share between threads."""

    def __init__(self, path: str | Path, precision: str = "f32", threads: int | None = None,
                 clip_input: bool = False) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise MaladeError("OpenVINOSession needs openvino (pip install 'malade-export[openvino]')") from None
        if precision not in PRECISIONS:
            raise MaladeError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        path = Path(path)
        if not path.is_file():
            raise MaladeError(f"model file {path} does not exist")
        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # openvino raises RuntimeError subclasses of its own
            raise MaladeError(f"openvino cannot load {path}: {str(exc).splitlines()[0]}") from exc
        inputs = [i.get_any_name() for i in model.inputs]
        shape = [dim.get_length() for dim in list(model.inputs[0].get_partial_shape())[1:]]  # batch is dynamic
        self._describe_graph(path, inputs, shape, read_metadata(_framework_metadata(model)), clip_input)
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
