"""Rerun a recorded `malade eval` row and check that it reproduces within its 95 % interval.

A committed table is only as good as the claim that anyone can remake it: every row JSON holds its
exact command, seed and the sha256 of each checkpoint it loaded, so a rerun first checks that the
checkpoints are unchanged (else it would not be a rerun) and never writes over the committed row.
"""
from __future__ import annotations

import json
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import file_sha256
from ..errors import MaladeError


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
    """Recorded checkpoints whose bytes on disk differ from the ones the row was made with."""
    changed = []
    for key in ("classifier", "denoiser", "generator"):
        entry = row.get(key)
        if entry and file_sha256(entry["path"]) != entry["sha256"]:
            changed.append(entry["path"])
    return changed


def rerun_row(path: Path) -> tuple[dict[str, Any], list[RowCheck]]:
    """Run the row's recorded command into a temporary file; return the new record and the checks."""
    from ..cli.main import main as malade

    row = json.loads(Path(path).read_text())
    changed = changed_checkpoints(row)
    if changed:
        raise MaladeError(f"{path}: checkpoint(s) changed since the row was made: {', '.join(changed)}")
    tokens = shlex.split(row["command"])  # "malade eval ..." (or "eval ..." when called as a subcommand)
    args = ["eval", *tokens[tokens.index("eval") + 1:]]
    with tempfile.TemporaryDirectory() as tmp:
        args[args.index("--out") + 1] = str(Path(tmp) / "row.json")
        malade(args, standalone_mode=False)
        new = json.loads((Path(tmp) / "row.json").read_text())
    checks = [RowCheck(part, row[part]["accuracy"], tuple(row[part]["ci95"]), new[part]["accuracy"],
                       new[part]["correct"], new[part]["n"]) for part in ("clean", "attacked")]
    return new, checks
