"""Run an exported file against PyTorch on a few inputs: the export is only done once it agrees."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..chain import MaladeDefense
from .graphs import INPUT_NAMES, build_graph, example_inputs


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
        got = _run_file(Path(path), fmt, INPUT_NAMES[noise_mode], x, extra)
        worst_logits = max(worst_logits, float(np.abs(got[0] - expected[0]).max()))
        worst_purified = max(worst_purified, float(np.abs(got[1] - expected[1]).max()))
    runtime = "onnxruntime CPU" if fmt == "onnx" else "torch.jit.load"
    return VerifyReport(worst_logits, worst_purified, batches, runtime)
