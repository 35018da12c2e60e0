#!/usr/bin/env python
"""Time every bundled preset's chain (Malade alone, no Defense-GAN) in one run and write one table.

Each preset gets `malade bench`'s full report in OUT_DIR/<preset>/ (latency.json/.md/.png); OUT_DIR/presets.md
and presets.json put Malade's rows side by side with each row's % of the measured matmul peak.

    python scripts/bench_presets.py --out-dir runs/bench_presets                 # N=10, batch 1 and 64
    python scripts/bench_presets.py --quick --backends pytorch-eager,onnxruntime --out-dir runs/bench_presets
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from malade_export.atomic import refuse_overwrite, write_text_atomic
from malade_export.bench import BenchConfig, quick_config, run_benchmark, write_report
from malade_export.bench.backends import BACKENDS
from malade_export.bench.presets_table import preset_rows, presets_markdown
from malade_export.chain import PRESETS
from malade_export.errors import MaladeError


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default="runs/bench_presets")
    parser.add_argument("--presets", default=",".join(PRESETS.names()), help="comma-separated [default: all]")
    parser.add_argument("--steps", default="10", help="chain lengths N [default: 10]")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--backends", default=None, help="comma-separated subset [default: all registered]")
    parser.add_argument("--quick", action="store_true", help="malade bench --quick's repetitions")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--force", action="store_true", help="overwrite results already in --out-dir")
    args = parser.parse_args()

    out = Path(args.out_dir)
    names = [name.strip() for name in args.presets.split(",") if name.strip()]
    for name in names:
        PRESETS.get(name)  # an unknown name fails before anything runs
    refuse_overwrite([out / "presets.md", out / "presets.json"], args.force)
    overrides: dict[str, object] = {"steps": _ints(args.steps), "batches": _ints(args.batches), "dgan_devices": ()}
    for key in ("reps", "rounds", "threads"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.backends:
        overrides["backends"] = tuple(b.strip() for b in args.backends.split(",") if b.strip())
        for backend in overrides["backends"]:  # type: ignore[attr-defined]
            BACKENDS.get(backend)
    base = quick_config(**overrides) if args.quick else BenchConfig(**overrides)  # type: ignore[arg-type]
    reports = {}
    for name in names:
        print(f"== preset {name}", flush=True)
        reports[name] = run_benchmark(replace(base, preset=name), out / name / "work", log=print)
        for path in write_report(reports[name], out / name):
            print(f"wrote {path}")
    write_text_atomic(out / "presets.json", json.dumps({"config": reports[names[0]]["config"] | {"preset": names},
                                                        "environment": reports[names[0]]["environment"],
                                                        "rows": preset_rows(reports)}, indent=2) + "\n")
    write_text_atomic(out / "presets.md", presets_markdown(reports))
    print(presets_markdown(reports))
    print(f"wrote {out / 'presets.md'} and {out / 'presets.json'}")


if __name__ == "__main__":
    try:
        main()
    except MaladeError as exc:
        sys.exit(f"Error: {exc}")
