"""Measured matrix-multiply throughput: the ceiling against which achieved GFLOP/s is judged.

A vendor's nominal peak says little about a shared 2-core VM; a square matmul at the benchmark's
thread count is what the convolutions could reach at best on this machine, today. No single
library sets that ceiling: on an AMD Zen 5, torch.mm (MKL) reached about 220 GFLOP/s in float32
where ONNX Runtime's own MatMul reached 450-470, so the peak is the best of every library present
(torch, ONNX Runtime, OpenVINO), each recorded. bfloat16 (where the CPU has it) judges the bf16
runtimes, which would otherwise read as more than 100 % of a float32 peak they do not share.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    import onnx

PRECISIONS = ("fp32", "bf16")


def _best_seconds(call: Callable[[], object], reps: int) -> float:
    call()  # warm-up: allocations, thread pool, kernel selection
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def _torch(size: int, threads: int, precision: str) -> Callable[[], object]:
    dtype = torch.float32 if precision == "fp32" else torch.bfloat16
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=gen).to(dtype) for _ in range(2))
    out = torch.empty(size, size, dtype=dtype)
    return lambda: torch.mm(a, b, out=out)


def matmul_model(size: int) -> onnx.ModelProto:
    """One ``size`` x ``size`` MatMul at the lowest IR version its opset needs.

    onnx's own default IR version can outrun the installed ONNX Runtime (onnx writing IR 14 beside an ORT
    that reads up to 13 stopped the first GPU run), so it is not left to the default.
    """
    from onnx import TensorProto, helper

    spec = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [size, size]) for name in "abc"]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", spec[:2], spec[2:])
    opsets = [helper.make_opsetid("", 18)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets))


def _onnxruntime(size: int, threads: int, precision: str) -> Callable[[], object] | None:
    if precision != "fp32":
        return None  # ONNX Runtime's CPU MatMul has no bf16 kernel
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(matmul_model(size).SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {name: np.random.default_rng(i).standard_normal((size, size), dtype=np.float32)
             for i, name in enumerate("ab")}
    return lambda: session.run(None, feeds)


def _openvino(size: int, threads: int, precision: str) -> Callable[[], object] | None:
    try:
        import openvino as ov
        import openvino.opset13 as ops
    except ImportError:
        return None
    a, b = (ops.parameter([size, size], np.float32) for _ in range(2))
    compiled = ov.Core().compile_model(ov.Model([ops.matmul(a, b, False, False)], [a, b]), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32" if precision == "fp32" else "bf16"})
    if precision == "bf16" and "bf" not in str(compiled.get_property("INFERENCE_PRECISION_HINT")):
        return None  # no bf16 on this CPU: OpenVINO would time float32
    request = compiled.create_infer_request()
    feeds = [np.random.default_rng(i).standard_normal((size, size), dtype=np.float32) for i in range(2)]
    return lambda: request.infer(feeds)


LIBRARIES = {"torch": _torch, "onnxruntime": _onnxruntime, "openvino": _openvino}


def matmul_peak_gflops(size: int = 1024, reps: int = 10, threads: int | None = None,
                       precision: str = "fp32") -> dict[str, object]:
    """Best-of-``reps`` GFLOP/s of a ``size`` x ``size`` matmul (2 n^3 FLOPs), best over the libraries."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    previous = torch.get_num_threads()
    threads = threads or previous
    torch.set_num_threads(threads)
    try:
        by_library = {}
        for name, build in LIBRARIES.items():
            call = build(size, threads, precision)
            if call is not None:
                by_library[name] = 2.0 * size**3 / _best_seconds(call, reps) / 1e9
                del call  # a live ORT session spins its threads: free it before the next library
    finally:
        torch.set_num_threads(previous)
    best = max(by_library, key=lambda name: by_library[name])
    return {"gflops": by_library[best], "library": best, "by_library": by_library, "size": size, "reps": reps,
            "threads": threads, "precision": precision}
