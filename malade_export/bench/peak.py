"""Measured matrix-multiply throughput: the ceiling against which achieved GFLOP/s is judged.

A vendor's nominal peak says little about a shared 2-core VM; a square torch.mm at the benchmark's
thread count is what the convolutions could reach at best on this machine, today. Float32 judges
the float32 runtimes; bfloat16 (where the CPU has it) judges the bf16 ones, which would otherwise
read as more than 100 % of a peak they do not share.
"""
from __future__ import annotations

import time

import torch


def matmul_peak_gflops(size: int = 1024, reps: int = 10, threads: int | None = None,
                       dtype: torch.dtype = torch.float32) -> dict[str, float | int]:
    """Best-of-``reps`` GFLOP/s of a ``size`` x ``size`` matmul (2 n^3 FLOPs) in ``dtype`` on the CPU."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(size, size, generator=gen).to(dtype)
        b = torch.randn(size, size, generator=gen).to(dtype)
        out = torch.empty(size, size, dtype=dtype)
        torch.mm(a, b, out=out)  # warm-up: allocations, thread pool
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
        return {"gflops": 2.0 * size**3 / best / 1e9, "size": size, "reps": reps, "threads": torch.get_num_threads()}
    finally:
        torch.set_num_threads(previous)
