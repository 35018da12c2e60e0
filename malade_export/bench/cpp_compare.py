"""Put the C++ harnesses' numbers (cpp_bench, one JSON line per run) beside Python's on the same files.

The gap between them is the Python-side overhead per call (GIL, argument conversion, output
wrapping), which matters at batch 1 and vanishes at large batches.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..loading import load_defense
from .artifacts import bench_checkpoints
from .backends import ChainFiles, make_runner
from .timing import time_callable

PYTHON_TWIN = {"libtorch": "torchscript", "onnxruntime": "ort-cpu", "onnxruntime-seed": "ort-cpu-seed"}


def read_cpp_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON objects the harnesses printed, skipping any other line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def compare_with_python(cpp_rows: list[dict[str, Any]], work: Path, warmup: int = 3) -> str:
    """Time each C++ case again from Python (same file, batch, threads, reps) and return a Markdown table."""
    classifier, sdae, _ = bench_checkpoints(work)
    lines = ["| harness | Python twin | N | batch | threads | C++ median ms | C++ p90 ms | C++ p99 ms | "
             "Python median ms | Python / C++ |", "|" + "---|" * 10]
    for row in cpp_rows:
        twin = PYTHON_TWIN[row["harness"]]
        n, batch, threads = int(row["steps"]), int(row["batch"]), int(row["threads"])
        torch.set_num_threads(threads)
        files = ChainFiles(load_defense(classifier, sdae, steps=n).defense, work / f"malade_n{n}.onnx",
                           work / f"malade_n{n}_seed.onnx", work / f"malade_n{n}.pt")
        stats = time_callable(make_runner(twin, files, batch, threads), batch, warmup, int(row["reps"]))
        py_ms = stats.median_s * 1e3
        lines.append(f"| {row['harness']} | {twin} | {n} | {batch} | {threads} | {row['median_ms']:.3f} | "
                     f"{row['p90_ms']:.3f} | {row['p99_ms']:.3f} | {py_ms:.3f} | {py_ms / row['median_ms']:.2f} |")
    return "\n".join(lines) + "\n"
