"""What machine and libraries produced a benchmark: a latency number means nothing without them."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from ..provenance import git_commit, library_versions


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_environment(threads: int) -> dict[str, object]:
    import onnxruntime as ort

    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": library_versions("torch", "onnxruntime", "numpy"),
        "ort_providers": ort.get_available_providers(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "commit": git_commit(),
    }
