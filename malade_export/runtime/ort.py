"""Run an exported defence with ONNX Runtime: needs onnxruntime + numpy only, no torch.

The session validates inputs before running (a clear ValueError instead of an ORT stack trace) and
fills the noise itself: by default from a fresh OS-entropy seed per sample and call, so the chain's
randomness cannot be predicted by an attacker; a fixed seed only when the caller passes one.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaladeError
from .base import OUTPUTS, RUNTIMES, DefenseSession, Runtime, TensorSpec
from .metadata import read_metadata

ORT_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(float16)": "float16",
              "tensor(double)": "float64", "tensor(int32)": "int32", "tensor(uint64)": "uint64"}
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def resolve_providers(providers: str | Sequence[str]) -> list[str]:
    """'cpu' (default), 'auto' (TensorRT > CUDA > CPU, whichever is present) or an explicit list."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers == "cpu":
        return ["CPUExecutionProvider"]
    if providers == "auto":
        return [p for p in PREFERRED_PROVIDERS if p in available]
    missing = [p for p in providers if p not in available]
    if missing:
        raise MaladeError(f"execution providers {missing} are not available here (available: {available})")
    return list(providers)


def _spec(arg: Any) -> TensorSpec:
    """ONNX Runtime's NodeArg as a TensorSpec ("tensor(float)" -> "float32", symbolic dims -> None)."""
    dtype = ORT_DTYPES.get(arg.type, arg.type)
    return TensorSpec(arg.name, dtype, tuple(d if isinstance(d, int) else None for d in (arg.shape or ())))


class OrtSession(DefenseSession):
    """A loaded ``.onnx`` defence: ``OrtSession(path).predict(x)``; safe to share between threads."""

    def __init__(self, path: str | Path, providers: str | Sequence[str] = "cpu", threads: int | None = None,
                 clip_input: bool = False, optimized_model_path: str | Path | None = None,
                 max_batch: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise MaladeError(f"model file {path} does not exist")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if optimized_model_path:
            options.optimized_model_filepath = str(optimized_model_path)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=resolve_providers(providers))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise MaladeError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc
        self._describe_graph(path, [_spec(i) for i in self.session.get_inputs()],
                             [_spec(o) for o in self.session.get_outputs()],
                             read_metadata(self.session.get_modelmeta().custom_metadata_map), clip_input, max_batch)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), feeds), strict=True))


Session = OrtSession  # the name the README published first
RUNTIMES.register("ort")(Runtime(OrtSession, "onnxruntime"))
