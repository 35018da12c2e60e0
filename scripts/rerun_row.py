#!/usr/bin/env python
"""Rerun committed robustness rows and say whether each reproduces within its 95 % interval.

    python scripts/rerun_row.py results/full/t2_b_fgsm_malade.json [more.json ...]

Exit status 0 only when every rerun lies inside its committed interval.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from malade_export.errors import MaladeError
from malade_export.eval.rerun import rerun_row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="+", type=Path, help="committed row JSON files")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="run here instead of the recorded device (e.g. a GPU row on a CPU)")
    args = parser.parse_args()
    all_inside = True
    for path in args.rows:
        try:
            new, checks = rerun_row(path, args.device)
        except MaladeError as exc:
            print(f"error: {exc}")
            all_inside = False
            continue
        old_commit = json.loads(path.read_text())["commit"] or "unknown"
        for c in checks:
            all_inside &= c.inside
            print(f"{path.name} {c.part}: committed {100 * c.committed:.1f}% [{100 * c.ci95[0]:.1f}, "
                  f"{100 * c.ci95[1]:.1f}] at {old_commit[:7]}, rerun {100 * c.rerun:.1f}% ({c.correct}/{c.n}) at "
                  f"{(new['commit'] or 'unknown')[:7]}: {'inside' if c.inside else 'OUTSIDE'} the interval")
    sys.exit(0 if all_inside else 1)


if __name__ == "__main__":
    main()
