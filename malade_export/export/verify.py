"""Run an exported file against PyTorch on a few inputs: the export is only done once it agrees."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..chain import MaladeDefense
from ..errors import MaladeError
from .graphs import INPUT_NAMES, OUTPUT_NAMES, build_graph, example_inputs

FP32_TOLERANCE = 1e-2  # float32 files agree to ~1e-5; a larger gap means a broken graph, not rounding


@dataclass
class VerifyReport:
    max_abs_logits: float
    max_abs_purified: float
    batches: tuple[int, ...]
    runtime: str


def _run_file(path: Path, fmt: str, names: list[str], x: torch.Tensor, extra: torch.Tensor) -> list[np.ndarray]:
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {names[0]: x.numpy(), names[1]: extra.numpy()})
    module = torch.jit.load(str(path))
    with torch.no_grad():
        return [o.numpy() for o in module(x, extra)]


def verify_export(defense: MaladeDefense, path: str | Path, fmt: str, noise_mode: str, dtype: str = "fp32",
                  batches: tuple[int, ...] = (1, 3)) -> VerifyReport:
    """Max |difference| of logits and purified images between the file and eager PyTorch."""
    reference = build_graph(defense, noise_mode, "fp32")
    worst_logits = worst_purified = 0.0
    for seed, batch in enumerate(batches):
        x, extra = example_inputs(defense, noise_mode, batch, seed=100 + seed)
        with torch.no_grad():
            expected = [o.numpy() for o in reference(x, extra)]
        try:
            got = _run_file(Path(path), fmt, INPUT_NAMES[noise_mode], x, extra)
        except Exception as exc:  # onnxruntime / TorchScript raise their own types
            raise MaladeError(f"verification failed: the written file does not run: "
                              f"{(str(exc).strip().splitlines() or [type(exc).__name__])[-1]}") from None
        for name, array in [*zip(OUTPUT_NAMES, expected, strict=True), *zip(OUTPUT_NAMES, got, strict=True)]:
            if not np.isfinite(array).all():
                raise MaladeError(f"verification failed: non-finite {name} at batch {batch} (a NaN/Inf weight "
                                  "or schedule value); nothing written")
        worst_logits = max(worst_logits, float(np.abs(got[0] - expected[0]).max()))
        worst_purified = max(worst_purified, float(np.abs(got[1] - expected[1]).max()))
    if dtype == "fp32" and worst_logits > FP32_TOLERANCE:
        raise MaladeError(f"verification failed: max |dlogits| = {worst_logits:.2e} against PyTorch exceeds "
                          f"{FP32_TOLERANCE:g}; nothing written")
    runtime = "onnxruntime CPU" if fmt == "onnx" else "torch.jit.load"
    return VerifyReport(worst_logits, worst_purified, batches, runtime)
