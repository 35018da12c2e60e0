#!/usr/bin/env python
"""Which ONNX Runtime session settings make the exported chain faster on this CPU?

Issue 5 asks whether threads, spinning, the optimisation level or a saved optimised model matter.
Sessions that spin side by side steal each other's cores, so only ONE session exists at a time:
each round builds every variant in turn, times its load and its calls, and frees it; rounds repeat
so slow drift of a shared machine hits every variant alike. Prints a table and writes JSON.

    python scripts/bench_ort_options.py --rounds 5 --reps 40 --out results/bench/ort_options.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from malade_export.atomic import write_text_atomic
from malade_export.bench.artifacts import bench_checkpoints, export_chain
from malade_export.bench.environment import describe_environment
from malade_export.bench.timing import summarize
from malade_export.chain import load_defense


def _options(threads: int, spin: bool = True, level: str = "all", denormal_as_zero: bool = False,
             load_optimized: Path | None = None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                   "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                   "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[level]
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if denormal_as_zero:
        so.add_session_config_entry("session.set_denormal_as_zero", "1")
    return so


def variants(threads: int, optimized: Path) -> dict[str, tuple[Path | None, ort.SessionOptions]]:
    """name -> (model to load instead of the exported one, or None; its session options)."""
    return {
        f"default ({threads} threads, spinning, all optimisations)": (None, _options(threads)),
        "no spinning": (None, _options(threads, spin=False)),
        "1 thread": (None, _options(1)),
        "extended optimisations only (no NCHWc layout)": (None, _options(threads, level="extended")),
        "denormals as zero": (None, _options(threads, denormal_as_zero=True)),
        "saved optimised model, optimisations off at load": (optimized, _options(threads, level="none")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="chain length N")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads of the default variant")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all variants")
    parser.add_argument("--reps", type=int, default=40, help="timed calls per variant per round at batch 1 "
                        "(batch 64: a tenth, at least 3)")
    parser.add_argument("--out", type=Path, default=Path("results/bench/ort_options.json"))
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        classifier, sdae, weights = bench_checkpoints(work)
        files = export_chain(load_defense(classifier, sdae, steps=args.steps), work)
        optimized = work / "optimized.onnx"
        so = _options(args.threads)
        so.optimized_model_filepath = str(optimized)
        ort.InferenceSession(str(files.onnx), so, providers=["CPUExecutionProvider"])  # writes the optimised model
        rng = np.random.default_rng(0)
        samples: dict[tuple[str, int], list[float]] = {}
        loads: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, (model, options) in variants(args.threads, optimized).items():
                t0 = time.perf_counter()
                session = ort.InferenceSession(str(model or files.onnx), options, providers=["CPUExecutionProvider"])
                loads.setdefault(name, []).append(time.perf_counter() - t0)
                for batch in batches:
                    feed = {"x": rng.random((batch, 1, 28, 28), dtype=np.float32),
                            "noise": rng.standard_normal((args.steps, batch, 1, 28, 28), dtype=np.float32)}
                    for _ in range(3):
                        session.run(None, feed)
                    reps = args.reps if batch == 1 else max(3, args.reps // 10)
                    for _ in range(reps):
                        t0 = time.perf_counter()
                        session.run(None, feed)
                        samples.setdefault((name, batch), []).append(time.perf_counter() - t0)
                del session

    names = list(loads)
    base = names[0]
    rows = []
    for name in names:
        row = {"variant": name, "load_ms": 1e3 * statistics.median(loads[name])}
        for batch in batches:
            stats = summarize(samples[(name, batch)], batch)
            row[f"batch{batch}_median_ms"] = 1e3 * stats.median_s
            row[f"batch{batch}_p90_ms"] = 1e3 * stats.p90_s
            row[f"batch{batch}_vs_default"] = stats.median_s / statistics.median(samples[(base, batch)])
        rows.append(row)
    report = {"command": "python scripts/bench_ort_options.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
              "environment": describe_environment(args.threads), "weights": weights, "steps": args.steps,
              "rounds": args.rounds, "rows": rows}
    header = ["variant", "load ms"] + [f"b{b} median ms (× default)" for b in batches]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["variant"], f"{row['load_ms']:.0f}"] + [
            f"{row[f'batch{b}_median_ms']:.2f} ({row[f'batch{b}_vs_default']:.2f})" for b in batches]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    write_text_atomic(args.out.with_suffix(".md"), f"# ONNX Runtime session settings, N = {args.steps}\n\n"
                      f"`{report['command']}`\n\n{table}\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
