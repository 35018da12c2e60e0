"""Export a MaladeDefense to ONNX or TorchScript, then verify the file against PyTorch."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path
from ..chain import LoadedDefense
from ..errors import MaladeError
from ..runtime.metadata import read_metadata
from ..train.usefulness import require_useful
from .graphs import INPUT_NAMES, NOISE_MODES, OUTPUT_NAMES
from .onnx_export import DEFAULT_OPSET, DEFAULT_TARGET, write_onnx
from .rewrites import GRAPH_TARGETS
from .torchscript_export import write_torchscript
from .verify import VerifyReport, verify_export

FORMATS = ("onnx", "torchscript")
DTYPES = ("fp32", "fp16")


@dataclass
class ExportResult:
    path: Path
    size_bytes: int
    report: VerifyReport | None


def export_defense(loaded: LoadedDefense, out: str | Path, fmt: str = "onnx", noise_mode: str = "input",
                   dtype: str = "fp32", opset: int = DEFAULT_OPSET, verify: bool = True,
                   target: str = DEFAULT_TARGET) -> ExportResult:
    """Export ``loaded`` to ``out`` (written atomically) and, by default, check it runs and agrees.

    ``target`` (ONNX only) picks the operators the denoiser is spelled in: "onnxruntime" (rewritten,
    1.5x faster there) or "openvino" (as trained, faster in OpenVINO); both compute the same chain.
    """
    require_useful(loaded.dae.config, loaded.dae.path.name)
    if fmt not in FORMATS:
        raise MaladeError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if noise_mode not in NOISE_MODES:
        raise MaladeError(f"unknown noise mode {noise_mode!r}; choose one of {', '.join(NOISE_MODES)}")
    if dtype not in DTYPES:
        raise MaladeError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    if dtype == "fp16" and fmt != "onnx":
        raise MaladeError("--dtype fp16 is supported for --format onnx only (for TensorRT / CUDA)")
    if target not in GRAPH_TARGETS:
        raise MaladeError(f"unknown target {target!r}; choose one of {', '.join(GRAPH_TARGETS)}")
    if not 13 <= opset <= 21:
        raise MaladeError(f"opset {opset} is unsupported; use 13..21 (default {DEFAULT_OPSET})")
    out = Path(out)
    with atomic_path(out) as tmp:  # written, then verified, and only then given its name
        if fmt == "onnx":
            write_onnx(loaded, tmp, noise_mode, dtype, opset, target)
        else:
            write_torchscript(loaded, tmp, noise_mode)
        report = verify_export(loaded.defense, tmp, fmt, noise_mode, dtype) if verify else None
        size = os.stat(tmp).st_size
    return ExportResult(out, size, report)


__all__ = ["DEFAULT_OPSET", "DEFAULT_TARGET", "DTYPES", "GRAPH_TARGETS", "ExportResult", "FORMATS", "INPUT_NAMES",
           "NOISE_MODES", "OUTPUT_NAMES", "export_defense", "read_metadata", "verify_export"]
