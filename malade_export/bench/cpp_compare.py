"""Put the C++ harnesses' numbers (cpp_bench, one JSON line per run) beside Python's on the same files.

The gap between them is the Python-side overhead per call (GIL, argument conversion, output
wrapping), which matters at batch 1 and vanishes at large batches. A 5 % comparison is below this
shared machine's drift, so scripts/bench_cpp.sh alternates C++ and Python runs over several rounds
and this module compares the median over rounds of each side's median.

    python -m malade_export.bench.cpp_compare time libtorch WORK --steps 10 --batch 1 ...  # one JSON line
    python -m malade_export.bench.cpp_compare compare OUT_DIR  # OUT_DIR/{cpp,python}.jsonl -> compare.md
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import torch

from ..atomic import write_text_atomic
from ..chain import load_defense
from .artifacts import bench_checkpoints, chain_files
from .backends import make_runner
from .environment import describe_environment
from .timing import time_callable

PYTHON_TWIN = {"libtorch": "torchscript", "onnxruntime": "ort-cpu", "onnxruntime-seed": "ort-cpu-seed"}
Row = dict[str, Any]


def read_rows(path: Path) -> list[Row]:
    """The JSON objects a harness printed, skipping any other line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def time_python_twin(harness: str, work: Path, steps: int, batch: int, threads: int, reps: int,
                     warmup: int) -> Row:
    """Python's timing of the file ``harness`` times, as a row shaped like the harness's JSON line."""
    classifier, sdae, _ = bench_checkpoints(work)
    torch.set_num_threads(threads)
    files = chain_files(load_defense(classifier, sdae, steps=steps).defense, work)
    stats = time_callable(make_runner(PYTHON_TWIN[harness], files, batch, threads), batch, warmup, reps)
    return {"harness": harness, "python_twin": PYTHON_TWIN[harness], "steps": steps, "batch": batch,
            "threads": threads, "reps": stats.reps, "median_ms": stats.median_s * 1e3, "p90_ms": stats.p90_s * 1e3,
            "p99_ms": stats.p99_s * 1e3}


def _medians_by_case(rows: list[Row]) -> dict[tuple[str, int, int, int], list[float]]:
    """Each (harness, N, batch, threads) case's median_ms per round, in run order."""
    by_case: dict[tuple[str, int, int, int], list[float]] = {}
    for row in rows:
        case = (row["harness"], int(row["steps"]), int(row["batch"]), int(row["threads"]))
        by_case.setdefault(case, []).append(row["median_ms"])
    return by_case


def compare(cpp_rows: list[Row], python_rows: list[Row]) -> str:
    """Markdown: per harness, N, batch and threads, the median over rounds of each side's median."""
    cpp_by_key, python_by_key = _medians_by_case(cpp_rows), _medians_by_case(python_rows)
    lines = ["| harness | Python twin | N | batch | threads | rounds | C++ median ms | Python median ms | "
             "Python / C++ | per-round Python / C++ |", "|" + "---|" * 10]
    for k, cpp in cpp_by_key.items():
        python = python_by_key.get(k, [])
        if not python:
            continue
        cpp_ms, py_ms = statistics.median(cpp), statistics.median(python)
        per_round = [p / c for c, p in zip(cpp, python, strict=False)]
        lines.append(f"| {k[0]} | {PYTHON_TWIN[k[0]]} | {k[1]} | {k[2]} | {k[3]} | {min(len(cpp), len(python))} | "
                     f"{cpp_ms:.3f} | {py_ms:.3f} | {py_ms / cpp_ms:.2f} | "
                     f"{min(per_round):.2f}–{max(per_round):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m malade_export.bench.cpp_compare",
                                     description="Python's side of scripts/bench_cpp.sh")
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("time", help="time a C++ harness's file from Python; print one JSON line")
    timing.add_argument("harness", choices=sorted(PYTHON_TWIN))
    timing.add_argument("work", type=Path, help="folder with the exported malade_n{N} files")
    for name, default in (("steps", 10), ("batch", 1), ("threads", 1), ("reps", 20), ("warmup", 3)):
        timing.add_argument(f"--{name}", type=int, default=default)
    comparing = commands.add_parser("compare", help="write OUT_DIR/compare.md from cpp.jsonl and python.jsonl")
    comparing.add_argument("out_dir", type=Path)
    comparing.add_argument("--command", default="", help="the bench_cpp.sh command line, recorded in compare.md")
    args = parser.parse_args(argv)
    if args.command == "time":
        print(json.dumps(time_python_twin(args.harness, args.work, args.steps, args.batch, args.threads, args.reps,
                                          args.warmup)), flush=True)
        return
    cpp_rows = read_rows(args.out_dir / "cpp.jsonl")
    table = compare(cpp_rows, read_rows(args.out_dir / "python.jsonl"))
    env = describe_environment(int(cpp_rows[0]["threads"]) if cpp_rows else 0)
    header = (f"# C++ harnesses vs Python on the same files\n\n`{args.command or 'scripts/bench_cpp.sh'}`\n\n"
              f"CPU: {env['cpu_model']} ({env['cpu_cores']} cores); "
              + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + "\n\n")
    write_text_atomic(args.out_dir / "compare.md", header + table)
    print(table, end="")


if __name__ == "__main__":
    main()
