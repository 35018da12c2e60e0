"""Turn a suite run into the numbers people quote: the paper's Table 6 layout, the goal ratios, and
the JSON / Markdown / PNG files. Pure data-in, text-out; nothing here times anything.
"""
from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, write_text_atomic
from .backends import BACKENDS, is_bf16
from .cuda_peak import judged_peak

PAPER_TABLE6 = {10: (0.008, 0.043), 25: (0.016, 0.070), 50: (0.028, 0.137)}  # seconds, TITAN V, batch 1
Row = dict[str, Any]


def _find(report: dict[str, Any], **keys: object) -> Row | None:
    for row in report["rows"]:
        if all(row.get(k) == v for k, v in keys.items()):
            return row
    return None


def _gpu_peaks(report: dict[str, Any], backend: str) -> dict[str, Any] | None:
    """The GPU's measured peaks where ``backend`` runs on the GPU and they were measured, else None."""
    cuda = report.get("matmul_peak_cuda")
    return cuda if cuda and backend in BACKENDS and BACKENDS.get(backend).gpu else None


def peak_name(report: dict[str, Any], backend: str) -> str:
    """Which measured matmul peak judges ``backend``: 'fp32' / 'bf16' (CPU) or 'GPU tf32' and the like."""
    cuda = _gpu_peaks(report, backend)
    if cuda:
        precision = BACKENDS.get(backend).precision
        return f"GPU {cuda['fp32_judged_by'] if precision == 'fp32' else precision}"
    return "bf16" if is_bf16(backend) else "fp32"


def peak_gflops(report: dict[str, Any], backend: str) -> float:
    """The measured matmul peak in the backend's own precision (bf16 for bf16 backends, else fp32; the GPU's
    peak in the backend's precision for GPU backends)."""
    cuda = _gpu_peaks(report, backend)
    if cuda:
        return judged_peak(cuda, BACKENDS.get(backend).precision)
    if is_bf16(backend) and report.get("matmul_peak_bf16"):
        return float(report["matmul_peak_bf16"]["gflops"])
    return float(report["matmul_peak"]["gflops"])


def _ratio(num: Row | None, den: Row | None, key: str = "median_ms") -> float | None:
    return num[key] / den[key] if num and den else None


def _paired_ratios(num: Row | None, den: Row | None) -> list[float]:
    """num / den per pass: both were timed minutes apart at most, so machine drift mostly cancels."""
    num_passes, den_passes = (row.get("pass_medians_ms", []) if row else [] for row in (num, den))
    if len(num_passes) != len(den_passes):
        return []
    return [a / b for a, b in zip(num_passes, den_passes, strict=True)]


def table6(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per N at batch 1, in seconds: Malade (ORT CPU, eager) vs Defense-GAN R = 1.

    The paper's Defense-GAN times grow with N, so we read its Table 6 as L = N iterations and give
    that column, next to the real setting L = dgan_steps.
    """
    cfg = report["config"]
    out = []
    for n in cfg["steps"]:
        ort = _find(report, kind="malade", backend="ort-cpu", steps=n, batch=1)
        eager = _find(report, kind="malade", backend="pytorch-eager", steps=n, batch=1)
        dg_n = _find(report, kind="defensegan", steps=n, restarts=1, batch=1)
        dg_l = _find(report, kind="defensegan", steps=cfg["dgan_steps"], restarts=1, batch=1)
        paper = PAPER_TABLE6.get(n, (None, None))
        out.append({"N": n, "malade_ort_cpu_s": ort and ort["median_ms"] / 1e3,
                    "malade_eager_s": eager and eager["median_ms"] / 1e3,
                    "defensegan_R1_L_eq_N_s": dg_n and dg_n["median_ms"] / 1e3,
                    f"defensegan_R1_L{cfg['dgan_steps']}_s": dg_l and dg_l["median_ms"] / 1e3,
                    "paper_malade_s": paper[0], "paper_defensegan_R1_s": paper[1]})
    return out


def goal_steps(steps: Sequence[int]) -> int:
    """The chain length N the goal ratios are read at: 10 where it was run."""
    return 10 if 10 in steps else steps[0]


def _seed_overhead(report: dict[str, Any], n: int, seed_backend: str,
                   input_backend: str) -> tuple[dict[str, float | None], dict[str, list[float]]]:
    """Per batch: seed-mode time over noise-input time minus 1, the median of per-pass ratios, and the passes."""
    median, per_pass = {}, {}
    for batch in report["config"]["batches"]:
        ratios = _paired_ratios(_find(report, kind="malade", backend=seed_backend, steps=n, batch=batch),
                                _find(report, kind="malade", backend=input_backend, steps=n, batch=batch))
        median[f"batch{batch}"] = statistics.median(ratios) - 1.0 if ratios else None
        per_pass[f"batch{batch}"] = [r - 1.0 for r in ratios]
    return median, per_pass


def goal_ratios(report: dict[str, Any]) -> dict[str, Any]:
    """The four goal ratios (Defense-GAN / Malade, eager / ORT, seed overhead, % of peak); None where a
    needed row was not run (or was skipped)."""
    cfg = report["config"]
    n = goal_steps(cfg["steps"])
    peak = report["matmul_peak"]["gflops"]
    ort1 = _find(report, kind="malade", backend="ort-cpu", steps=n, batch=1)
    dg = _find(report, kind="defensegan", steps=cfg["dgan_steps"], restarts=10, batch=1)
    seed_overhead, seed_overhead_per_pass = _seed_overhead(report, n, "ort-cpu-seed", "ort-cpu")
    session_overhead, session_overhead_per_pass = _seed_overhead(report, n, "ort-session-seed", "ort-session")
    at_peak = {row["backend"]: row["gflops"] / peak_gflops(report, row["backend"]) for row in report["rows"]
               if row["kind"] == "malade" and row["batch"] == 64 and row["steps"] == n}
    batch1 = [row for row in report["rows"] if row["kind"] == "malade" and row["batch"] == 1 and row["steps"] == n]
    fastest = min(batch1, key=lambda row: row["median_ms"]) if batch1 else None
    # The best any runtime could do with this chain's FLOPs on this machine: a ceiling on the ratio.
    floor_ms = ort1["gflop_per_sample"] / peak * 1e3 if ort1 else None
    return {
        "N": n,
        f"defensegan_L{cfg['dgan_steps']}_R10_over_malade_N{n}_ort_cpu_batch1": _ratio(dg, ort1),
        f"defensegan_L{cfg['dgan_steps']}_R10_over_malade_N{n}_fastest_batch1":
            {"backend": fastest["backend"], "ratio": _ratio(dg, fastest)} if fastest and dg else None,
        f"malade_N{n}_batch1_ms_at_matmul_peak": floor_ms,
        f"defensegan_L{cfg['dgan_steps']}_R10_over_malade_N{n}_at_matmul_peak":
            dg["median_ms"] / floor_ms if dg and floor_ms else None,
        # Defense-GAN's own time drifts by tens of percent between passes: its ratio per pass shows the spread
        "defensegan_over_malade_batch1_per_pass": {row["backend"]: _paired_ratios(dg, row)
                                                   for row in (ort1, fastest) if row and dg},
        f"eager_over_ort_cpu_batch1_N{n}": _ratio(_find(report, kind="malade", backend="pytorch-eager", steps=n,
                                                        batch=1), ort1),
        "ort_seed_mode_overhead_vs_noise_input": seed_overhead,  # median of the per-pass ratios
        "ort_seed_mode_overhead_per_pass": seed_overhead_per_pass,
        # the same through Session.predict, where the noise-input file needs its noise made on the host
        "session_seed_mode_overhead_vs_noise_input": session_overhead,
        "session_seed_mode_overhead_per_pass": session_overhead_per_pass,
        # each backend against the peak of its own precision (bf16 backends: the bf16 matmul peak)
        f"gflops_batch64_N{n}_fraction_of_matmul_peak": at_peak or None,
    }


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec)


def _fastest(ratios: dict[str, Any], steps: int, n: int) -> dict[str, Any]:
    """{"backend", "ratio"} of the fastest batch-1 backend, or {} when it was not measured."""
    return ratios.get(f"defensegan_L{steps}_R10_over_malade_N{n}_fastest_batch1") or {}


def _pass_spread(ratios: dict[str, Any], backend: str | None) -> str:
    per_pass = ratios.get("defensegan_over_malade_batch1_per_pass", {}).get(backend, [])
    if len(per_pass) < 2:
        return ""
    return (f" (per pass: median {statistics.median(per_pass):.0f}x, {min(per_pass):.0f}x to "
            f"{max(per_pass):.0f}x over {len(per_pass)} passes)")


def format_ratios(report: dict[str, Any]) -> str:
    """The goal ratios as the lines the benchmark prints at the end of a run."""
    r = report["ratios"]
    n = r["N"]
    steps = report["config"]["dgan_steps"]
    fastest = _fastest(r, steps, n)
    lines = [
        f"Defense-GAN (L={steps}, R=10) / Malade (N={n}, ORT CPU), batch 1: "
        f"{_fmt(r[f'defensegan_L{steps}_R10_over_malade_N{n}_ort_cpu_batch1'], '.1f')}x{_pass_spread(r, 'ort-cpu')}",
        f"  ceiling: Malade at 100 % of the matmul peak would take {_fmt(r[f'malade_N{n}_batch1_ms_at_matmul_peak'])} "
        f"ms, so this chain's FLOPs cap the ratio at "
        f"{_fmt(r[f'defensegan_L{steps}_R10_over_malade_N{n}_at_matmul_peak'], '.0f')}x",
        f"Defense-GAN (L={steps}, R=10) / Malade (N={n}, fastest backend"
        f"{': ' + fastest['backend'] if fastest else ''}), batch 1: "
        f"{_fmt(fastest.get('ratio'), '.1f')}x{_pass_spread(r, fastest.get('backend'))}",
        f"PyTorch eager / ORT CPU, batch 1, N={n}: {_fmt(r[f'eager_over_ort_cpu_batch1_N{n}'], '.2f')}x",
    ]
    for key, label in (("ort_seed_mode", "ORT seed mode vs noise input"),
                       ("session_seed_mode", "Session.predict end to end, seed file vs noise-input file (host noise)")):
        for batch, overhead in r.get(f"{key}_overhead_vs_noise_input", {}).items():
            if overhead is None and key == "session_seed_mode":
                continue  # the end-to-end backends were not run
            per_pass = r.get(f"{key}_overhead_per_pass", {}).get(batch, [])
            spread = (f" (median of {len(per_pass)} per-pass ratios, {min(per_pass) * 100:+.1f} to "
                      f"{max(per_pass) * 100:+.1f} %)" if len(per_pass) > 1 else "")
            lines.append(f"{label}, {batch}: "
                         f"{'—' if overhead is None else format(overhead * 100, '+.1f') + ' %'}{spread}")
    fractions = r[f"gflops_batch64_N{n}_fraction_of_matmul_peak"] or {}
    for backend, fraction in fractions.items():
        lines.append(f"GFLOP/s at batch 64 (N={n}), {backend}: {fraction * 100:.1f} % of the measured "
                     f"{peak_name(report, backend)} matmul peak")
    if not fractions:
        lines.append("GFLOP/s at batch 64 vs matmul peak: — (batch 64 not run)")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _libraries(peak: dict[str, Any]) -> str:
    """', best of torch 215, onnxruntime 475' where the peak recorded each library it tried."""
    by_library = peak.get("by_library")
    return ", best of " + ", ".join(f"{k} {v:.0f}" for k, v in by_library.items()) if by_library else ""


def to_markdown(report: dict[str, Any]) -> str:
    env, cfg, peak = report["environment"], report["config"], report["matmul_peak"]["gflops"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        "# Malade vs Defense-GAN latency" + (" (quick run)" if cfg["quick"] else ""), "",
        f"- CPU: {env['cpu_model']} ({env['cpu_cores']} cores), threads: {env['threads']}, "
        f"GPU: {env['cuda_device'] or 'none'}",
        f"- versions: {versions}; python {env['python']}",
        f"- measured fp32 matmul peak: {peak:.1f} GFLOP/s ({report['matmul_peak']['size']}^2, best of "
        f"{report['matmul_peak']['reps']} in each of {report['matmul_peak'].get('passes', 1)} passes"
        f"{_libraries(report['matmul_peak'])})"
        + (f"; bf16: {report['matmul_peak_bf16']['gflops']:.1f} GFLOP/s{_libraries(report['matmul_peak_bf16'])} "
           "(the '% peak' of bf16 backends)"
           if report.get("matmul_peak_bf16") else ""),
        f"- commit: {env.get('commit') or 'unknown'}",
        f"- weights: {report['weights']}",
        f"- repetitions: warm-up {cfg['warmup']}, up to {cfg['reps']} timed (budget {cfg['budget_s']} s per case), "
        f"spread over {cfg.get('rounds', 1)} passes through all cases; one call = one batch; "
        "FLOPs = 2 x MACs of conv/convT/linear layers", "",
        "## Malade", "",
    ]
    malade = [r for r in report["rows"] if r["kind"] == "malade"]
    lines += _table(
        ["N", "batch", "backend", "median ms", "p90 ms", "p99 ms", "img/s", "GFLOP/img", "GFLOP/s", "% peak"],
        [[str(r["steps"]), str(r["batch"]), r["backend"], f"{r['median_ms']:.3f}", f"{r['p90_ms']:.3f}",
          f"{r['p99_ms']:.3f}", f"{r['throughput']:.1f}", f"{r['gflop_per_sample']:.3f}",
          f"{r['gflops']:.1f}", f"{100 * r['gflops'] / peak_gflops(report, r['backend']):.0f}"] for r in malade])
    lines += ["", "## Defense-GAN", "", f"{report['defensegan_note']}.", ""]
    dgan = [r for r in report["rows"] if r["kind"] == "defensegan"]
    lines += _table(
        ["backend", "L", "R", "batch", "median ms", "p90 ms", "p99 ms", "img/s", "GFLOP/img", "GFLOP/s", "how"],
        [[r["backend"], str(r["steps"]), str(r["restarts"]), str(r["batch"]), f"{r['median_ms']:.2f}",
          f"{r['p90_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['throughput']:.2f}", f"{r['gflop_per_sample']:.2f}",
          f"{r['gflops']:.1f}", f"scaled from L={r['measured_steps']}" if r["extrapolated"] else "measured"]
         for r in dgan])
    steps = cfg["dgan_steps"]
    lines += ["", "## Paper Table 6 layout (seconds, batch 1; paper: TITAN V)", ""]
    lines += _table(["N", "Malade ORT CPU", "Malade eager", "Defense-GAN R=1, L=N", f"Defense-GAN R=1, L={steps}",
                     "paper Malade", "paper Defense-GAN R=1"],
                    [[str(t["N"]), _fmt(t["malade_ort_cpu_s"], ".4f"), _fmt(t["malade_eager_s"], ".4f"),
                      _fmt(t["defensegan_R1_L_eq_N_s"], ".4f"), _fmt(t[f"defensegan_R1_L{steps}_s"], ".4f"),
                      _fmt(t["paper_malade_s"]), _fmt(t["paper_defensegan_R1_s"])] for t in report["table6"]])
    lines += ["", "## Goal ratios", ""] + [f"- {line}" for line in format_ratios(report).splitlines()]
    if report["skipped"]:
        lines += ["", "## Skipped backends", ""] + [f"- {b}: {why}" for b, why in report["skipped"].items()]
    return "\n".join(lines) + "\n"


REPORT_FILES = ("latency.json", "latency.md", "latency.png")


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """latency.json, latency.md and latency.png in ``out_dir`` (each written atomically)."""
    from .plot import plot_latency

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in REPORT_FILES]
    write_text_atomic(paths[0], json.dumps(report, indent=2, sort_keys=True) + "\n")
    write_text_atomic(paths[1], to_markdown(report))
    with atomic_path(paths[2]) as tmp:
        plot_latency(report, tmp)
    return paths
