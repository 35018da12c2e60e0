"""One table for several presets' latency reports: the same chain settings side by side, each row judged
against the matmul peak its own run measured."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .report import peak_gflops


def preset_rows(reports: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Malade's rows of each preset's report, with the preset, its input shape and the % of peak."""
    rows = []
    for name, report in reports.items():
        for row in report["rows"]:
            if row["kind"] != "malade":
                continue
            peak = peak_gflops(report, row["backend"])
            rows.append({"preset": name, "input_shape": report["input_shape"], "backend": row["backend"],
                         "steps": row["steps"], "batch": row["batch"], "median_ms": row["median_ms"],
                         "p90_ms": row["p90_ms"], "throughput": row["throughput"], "reps": row["reps"],
                         "gflop_per_sample": row["gflop_per_sample"], "gflops": row["gflops"],
                         "peak_gflops": peak, "percent_of_peak": 100 * row["gflops"] / peak})
    return rows


def presets_markdown(reports: Mapping[str, dict[str, Any]]) -> str:
    """The table, preceded by what every number depends on: machine, threads, weights, repetitions."""
    first = next(iter(reports.values()))
    env, cfg = first["environment"], first["config"]
    lines = ["# Malade latency per bundled preset" + (" (quick run)" if cfg["quick"] else ""), "",
             f"- CPU: {env['cpu_model']} ({env['cpu_cores']} cores), threads: {env['threads']}, "
             f"GPU: {env['cuda_device'] or 'none'}; commit: {env.get('commit') or 'unknown'}",
             f"- repetitions: warm-up {cfg['warmup']}, up to {cfg['reps']} timed per case (budget {cfg['budget_s']} s) "
             f"over {cfg.get('rounds', 1)} passes; % peak: GFLOP/s over the matmul peak measured in the same run, "
             "in the backend's precision"]
    lines += [f"- {name}: input {'x'.join(map(str, r['input_shape']))}; {r['weights']}" for name, r in reports.items()]
    lines += ["", "| preset | N | batch | backend | median ms | p90 ms | img/s | GFLOP/img | GFLOP/s | % peak |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['preset']} | {r['steps']} | {r['batch']} | {r['backend']} | {r['median_ms']:.3f} | "
              f"{r['p90_ms']:.3f} | {r['throughput']:.1f} | {r['gflop_per_sample']:.3f} | {r['gflops']:.1f} | "
              f"{r['percent_of_peak']:.0f} |" for r in preset_rows(reports)]
    skipped = {f"{b} ({name})": why for name, r in reports.items() for b, why in r["skipped"].items()}
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"{b}: {why}" for b, why in skipped.items())]
    return "\n".join(lines) + "\n"
