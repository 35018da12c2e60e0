"""Measured GPU matrix-multiply throughput: the ceiling the CUDA backends' GFLOP/s are judged against.

One peak per precision the backends compute in. "fp32" is strict float32 (TF32 off); "tf32" is what
float32 convolutions get when cuDNN's TF32 switch is on (PyTorch's default), so float32 backends are
judged against the tf32 peak then, and the record says so.
"""
from __future__ import annotations

import torch

CUDA_PEAK_PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


def _gflops(size: int, dtype: torch.dtype, tf32: bool, reps: int) -> float:
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        gen = torch.Generator(device="cuda").manual_seed(0)
        a, b = (torch.randn(size, size, device="cuda", generator=gen).to(dtype) for _ in range(2))
        out = torch.empty(size, size, device="cuda", dtype=dtype)
        for _ in range(3):  # warm-up: cuBLAS heuristics, clocks up
            torch.mm(a, b, out=out)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        best = float("inf")
        for _ in range(reps):
            start.record()
            torch.mm(a, b, out=out)
            end.record()
            end.synchronize()
            best = min(best, start.elapsed_time(end) / 1e3)
        del a, b, out
        return 2.0 * size**3 / best / 1e9
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


def cuda_matmul_peaks(size: int = 8192, reps: int = 10) -> dict[str, object]:
    """Best-of-``reps`` GFLOP/s of a ``size``^3 matmul per precision on GPU 0, with what judges fp32 backends."""
    dtypes = {"fp32": (torch.float32, False), "tf32": (torch.float32, True), "bf16": (torch.bfloat16, False),
              "fp16": (torch.float16, False)}
    peaks = {name: _gflops(size, dtype, tf32, reps) for name, (dtype, tf32) in dtypes.items()}
    return {"gflops": peaks, "size": size, "reps": reps, "device": torch.cuda.get_device_name(0),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "fp32_judged_by": "tf32" if torch.backends.cudnn.allow_tf32 else "fp32"}


def judged_peak(peaks: dict[str, object], precision: str) -> float:
    """The GFLOP/s a backend computing in ``precision`` is judged against (fp32 -> tf32 where cuDNN uses it)."""
    name = str(peaks["fp32_judged_by"]) if precision == "fp32" else precision
    return float(peaks["gflops"][name])  # type: ignore[index]
