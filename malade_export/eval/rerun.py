"""Rerun a recorded `malade eval` row and check that it reproduces within its 95 % interval.

A committed table is only as good as the claim that anyone can remake it: every row JSON holds its
exact command, seed and the sha256 of each checkpoint it loaded, so a rerun first checks that the
checkpoints are unchanged (else it would not be a rerun) and never writes over the committed row.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import file_sha256
from ..errors import MaladeError
from .pipeline import EvalConfig, run_eval


@dataclass(frozen=True)
class RowCheck:
    """One accuracy (clean or attacked) of a row: committed, with its interval, and rerun."""

    part: str
    committed: float
    ci95: tuple[float, float]
    rerun: float
    correct: int
    n: int

    @property
    def inside(self) -> bool:
        slack = 1e-9  # Wilson bounds at 0 or n successes land a rounding error off 0 and 1
        return self.ci95[0] - slack <= self.rerun <= self.ci95[1] + slack


def changed_checkpoints(row: dict[str, Any]) -> list[str]:
    """Recorded checkpoints that are missing, or whose bytes differ from the ones the row was made with."""
    changed = []
    for key in ("classifier", "denoiser", "generator"):
        entry = row.get(key)
        if entry and (not Path(entry["path"]).is_file() or file_sha256(entry["path"]) != entry["sha256"]):
            changed.append(entry["path"])
    return changed


def recorded_params(command: str) -> dict[str, str | bool]:
    """``--name value`` pairs and bare ``--flag``s of a recorded ``malade eval`` command, by option name."""
    tokens = shlex.split(command)  # "malade eval ..." (or "eval ..." when called as a subcommand)
    tokens = tokens[tokens.index("eval") + 1:]
    params: dict[str, str | bool] = {}
    for index, token in enumerate(tokens):
        if not token.startswith("--"):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else "--"
        params[token[2:].replace("-", "_")] = True if following.startswith("--") else following
    return params


def rerun_row(path: Path, device: str | None = None) -> tuple[dict[str, Any], list[RowCheck]]:
    """Run the row's recorded command again (writing nothing); return the new record and the checks.

    ``device`` replaces the recorded one, so a row made on a lent GPU reruns on a CPU (slower; the same
    images, attack and seeds, so the same result up to floating-point order).
    """
    row = json.loads(Path(path).read_text())
    changed = changed_checkpoints(row)
    if changed:
        raise MaladeError(f"{path}: checkpoint(s) missing or changed since the row was made: {', '.join(changed)}")
    params = recorded_params(row["command"])
    if device is not None:
        params["device"] = device
    new = run_eval(EvalConfig.from_params(params, row["command"]))
    checks = [RowCheck(part, row[part]["accuracy"], tuple(row[part]["ci95"]), new[part]["accuracy"],
                       new[part]["correct"], new[part]["n"]) for part in ("clean", "attacked")]
    return new, checks
