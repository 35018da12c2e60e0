"""What produced a file: the command, the code's commit, the library versions.

Training, export, evaluation and the benchmark all record it, each in the keys its file format has
always used, from the helpers here.
"""
from __future__ import annotations

import importlib
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from . import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit(root: Path = REPO_ROOT) -> str | None:
    """``git rev-parse HEAD`` of the source tree, or None outside a git checkout (e.g. a wheel)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def library_versions(*modules: str) -> dict[str, str]:
    """``{"malade_export": ..., module: module.__version__, ...}`` for already-installed modules."""
    return {"malade_export": __version__,
            **{name: str(importlib.import_module(name).__version__) for name in modules}}


def checkpoint_provenance(command: str) -> dict[str, str]:
    """The keys a trained checkpoint's config carries about how it was made."""
    import torch

    return {"command": command, "package_version": __version__, "torch_version": torch.__version__,
            "python_version": platform.python_version()}


def provenance(command: str, seed: int) -> dict[str, object]:
    """What an evaluation result file must say so anyone can re-run it."""
    import torch

    return {
        "command": command,
        "seed": seed,
        "commit": git_commit(),
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
