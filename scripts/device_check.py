#!/usr/bin/env python3
"""The Python parts of scripts/device_check.sh: each writes one JSON file, and ``assemble`` turns them
and the benchmark's own reports into device_check.{json,md,png}.

    device_check.py env      --out PART.json [--install-log FILE]
    device_check.py accuracy --work WORK --out PART.json [--batch B]
    device_check.py cpp      --work WORK --out PART.json --build DIR [--steps 10,25,50] [--batches 1,64,1024]
    device_check.py assemble --work WORK --out-dir OUT [--mode gpu|short] [--command TEXT]

A part that fails still writes its JSON with status "failed" and the one-line reason; a part that dies
(a time box ran out) leaves only the driver's PART.rc, which ``assemble`` reports instead.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The paper's Table 6 (seconds, batch 1, NVIDIA TITAN V): N -> (Malade, Defense-GAN R = 1).
PAPER_TABLE6 = {10: (0.008, 0.043), 25: (0.016, 0.070), 50: (0.028, 0.137)}
PAPER_GPU = "NVIDIA TITAN V"
PARTS = ("install", "env", "bench_cuda", "compile_n10", "compile_n25", "compile_n50", "accuracy", "cpp")
BENCH_PARTS = ("bench_cuda", "compile_n10", "compile_n25", "compile_n50")
ACCURACY_BACKENDS = ("pytorch-eager", "torchscript", "pytorch-cuda-eager", "pytorch-cuda-graphs", "torchscript-cuda",
                     "pytorch-compile-cuda", "pytorch-compile-cuda-bf16", "pytorch-compile-cuda-fp16")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic: a part killed mid-write leaves no half file for ``assemble`` to choke on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:400] if text else ''}"


def run_part(out: Path, body: Callable[[], dict[str, Any]]) -> None:
    """Run ``body`` and write its result (or its failure, in one line) to ``out``."""
    started = time.perf_counter()
    try:
        result = {"status": "ok", **body()}
    except Exception as exc:  # a part's failure is data for the report, not the end of the check
        result = {"status": "failed", "reason": one_line(exc), "traceback": traceback.format_exc()[-3000:]}
    result["seconds"] = round(time.perf_counter() - started, 2)
    write_json(out, result)
    print(f"device_check: {out.stem}: {result['status']}" + (f" ({result['reason']})" if "reason" in result else ""))


def _tool(command: list[str]) -> str | None:
    if not shutil.which(command[0]):
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"present, but {one_line(exc)}"
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines[-1].strip() if command[0] == "nvcc" and lines else (lines[0].strip() if lines else "present")


def find_nvcc() -> str | None:
    for candidate in (shutil.which("nvcc"), os.environ.get("CUDA_HOME") and f"{os.environ['CUDA_HOME']}/bin/nvcc",
                      "/usr/local/cuda/bin/nvcc"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def env_part(install_log: Path | None) -> dict[str, Any]:
    import importlib.util

    import numpy as np
    import onnxruntime as ort
    import torch

    import malade_export

    cuda = torch.cuda.is_available()
    info: dict[str, Any] = {
        "python": sys.version.split()[0], "executable": sys.executable, "platform": platform.platform(),
        "cpu_cores": os.cpu_count(), "malade_export_from": str(Path(malade_export.__file__).parent),
        "versions": {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "numpy": np.__version__,
                     "onnxruntime": ort.__version__, "malade_export": malade_export.__version__},
        "ort_providers": ort.get_available_providers(),
        "cuda_available": cuda, "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "tensorrt_importable": importlib.util.find_spec("tensorrt") is not None,
        "triton_importable": importlib.util.find_spec("triton") is not None,
        "tools": {name: _tool([name, flag]) for name, flag in (("nvcc", "--version"), ("cmake", "--version"),
                                                               ("ninja", "--version"), ("c++", "--version"),
                                                               ("cc", "--version"), ("nvidia-smi", "-L"))},
        "nvcc_path": find_nvcc(),
    }
    if cuda:
        props = torch.cuda.get_device_properties(0)
        info.update(gpu_capability=f"{props.major}.{props.minor}", gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    gpu_multiprocessors=props.multi_processor_count, cudnn=torch.backends.cudnn.version(),
                    cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    if install_log and install_log.is_file():
        info["install_log_tail"] = install_log.read_text(errors="replace")[-1500:]
    return info


def _logits(out: Any) -> Any:
    import torch

    tensor = out[0] if isinstance(out, (tuple, list)) else out
    return tensor.detach().float().cpu().numpy() if isinstance(tensor, torch.Tensor) else tensor


def _compare(reference: Any, other: Any) -> dict[str, float]:
    import numpy as np

    return {"max_abs_dlogits": float(np.abs(other - reference).max()),
            "label_agreement": float((other.argmax(1) == reference.argmax(1)).mean())}


def accuracy_part(work: Path, batch: int) -> dict[str, Any]:
    """Every backend's logits on the bench's own inputs for ``batch``, against ONNX Runtime CPU on the
    noise-input file under the same noise; low precisions also against their float32 twin."""
    import onnxruntime as ort
    import torch

    from malade_export.bench.artifacts import bench_checkpoints, chain_files, export_chain
    from malade_export.bench.backends import BackendUnavailable, _inputs, make_runner
    from malade_export.chain import load_defense

    folder = work / "bench_cuda" / "work"
    report = _load(work / "bench_cuda" / "latency.json")
    steps_run = report["config"]["steps"] if report else [10]  # no benchmark report: export N = 10 here
    per_chain, skipped = [], {}
    for steps in steps_run:
        classifier, sdae, _ = bench_checkpoints(folder)
        loaded = load_defense(classifier, sdae, steps=steps)
        files = chain_files(loaded.defense, folder)
        if not (files.onnx.is_file() and files.torchscript.is_file()):
            files = export_chain(loaded, folder)
        x, noise, _ = _inputs(files.defense, batch)
        session = ort.InferenceSession(str(files.onnx), providers=["CPUExecutionProvider"])
        reference = session.run(["logits"], {"x": x.numpy(), "noise": noise.numpy()})[0]
        logits: dict[str, Any] = {}
        for backend in ACCURACY_BACKENDS:
            try:
                logits[backend] = _logits(make_runner(backend, files, batch, torch.get_num_threads())())
            except BackendUnavailable as exc:
                skipped[backend] = str(exc)
            except Exception as exc:  # one backend's crash must not hide the others' numbers
                skipped[backend] = f"failed: {one_line(exc)}"
        if torch.cuda.is_available():  # what cuDNN's TF32 default costs in accuracy
            previous = torch.backends.cudnn.allow_tf32
            torch.backends.cudnn.allow_tf32 = False
            try:
                logits["pytorch-cuda-eager (TF32 off)"] = _logits(make_runner("pytorch-cuda-eager", files, batch, 1)())
            finally:
                torch.backends.cudnn.allow_tf32 = previous
        rows = [{"backend": name, "vs": "ort-cpu", **_compare(reference, value)} for name, value in logits.items()]
        for low in ("bf16", "fp16"):
            twin = logits.get(f"pytorch-compile-cuda-{low}")
            if twin is not None and "pytorch-compile-cuda" in logits:
                rows.append({"backend": f"pytorch-compile-cuda-{low}", "vs": "pytorch-compile-cuda",
                             **_compare(logits["pytorch-compile-cuda"], twin)})
        per_chain.append({"N": steps, "batch": batch, "rows": rows})
    return {"chains": per_chain, "skipped": skipped,
            "note": "same image batch and noise for every backend (the benchmark's own inputs); reference: "
                    "ONNX Runtime CPU on the noise-input ONNX file"}


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _command(cmd: list[str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if done.returncode != 0:
        tail = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()][-6:]
        raise RuntimeError(f"{Path(cmd[0]).name} exited {done.returncode}: " + " | ".join(tail)[-900:])
    return done


def _export_torchscript(path: Path, steps: int) -> None:
    from malade_export.bench.artifacts import bench_checkpoints
    from malade_export.chain import load_defense
    from malade_export.export import export_defense

    path.parent.mkdir(parents=True, exist_ok=True)
    classifier, sdae, _ = bench_checkpoints(path.parent)
    export_defense(load_defense(classifier, sdae, steps=steps), path, "torchscript", "input", verify=False)


def cpp_part(work: Path, build: Path, steps: list[int], batches: list[int], reps: int) -> dict[str, Any]:
    """Build cpp_bench's LibTorch harness against this torch (CUDA where it has it) and time the bench's
    TorchScript files on CUDA (on the CPU where there is no GPU, so the harness is still exercised)."""
    import torch

    if not shutil.which("cmake"):
        raise RuntimeError("cmake is not on PATH")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    prefix = torch.utils.cmake_prefix_path
    configure = ["cmake", "-S", str(Path(__file__).resolve().parents[1] / "cpp_bench"), "-B", str(build),
                 "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_PREFIX_PATH={prefix}", "-DMALADE_BENCH_ORT=OFF"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    nvcc = find_nvcc()
    if torch.version.cuda and nvcc:  # LibTorch's CMake files enable the CUDA language for a CUDA torch
        configure += [f"-DCMAKE_CUDA_COMPILER={nvcc}", f"-DCUDA_TOOLKIT_ROOT_DIR={Path(nvcc).parents[1]}"]
    started = time.perf_counter()
    configured = _command(configure, 240)
    _command(["cmake", "--build", str(build), f"-j{os.cpu_count() or 2}"], 400)
    build_s = time.perf_counter() - started
    binary = build / "bench_libtorch"
    if not binary.is_file():
        status = [line for line in configured.stdout.splitlines() if "bench_libtorch" in line]
        raise RuntimeError("bench_libtorch was not built: " + (status[-1] if status else "see cmake output"))
    rows, failures = [], {}
    for n in steps:
        model = work / "bench_cuda" / "work" / f"malade_n{n}.pt"
        if not model.is_file():  # the bench_cuda part did not run (or died): export just this file
            _export_torchscript(model, n)
        for batch in batches:
            try:
                done = _command([str(binary), str(model), "--batch", str(batch), "--reps", str(reps), "--warmup", "3",
                                 "--threads", str(torch.get_num_threads()), "--device", device], 120)
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            except Exception as exc:
                failures[f"N={n} batch={batch}"] = one_line(exc)
    return {"device": device, "build_s": round(build_s, 1), "rows": rows, "failures": failures,
            "cmake": " ".join(configure)}


# ---------------------------------------------------------------- assemble


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def part_status(work: Path, name: str) -> dict[str, Any]:
    """What happened to one part: its own JSON, else the driver's exit record, else 'not run'."""
    parts = work / "parts"
    data = _load(parts / f"{name}.json") or {}
    rc_file = parts / f"{name}.rc"
    if rc_file.is_file():
        fields = rc_file.read_text().split(maxsplit=3)
        rc, seconds, box = int(fields[0]), float(fields[1]), float(fields[2])
        note = fields[3].strip() if len(fields) > 3 else ""
        data.setdefault("seconds", seconds)
        data["time_box_s"] = box
        if rc == 124 or rc == 137:
            data.update(status="failed", reason=f"ran past its time box of {box:.0f} s and was stopped")
        elif rc == 99:
            data.update(status="skipped", reason=note)
        elif rc != 0 and data.get("status") != "failed":
            data.update(status="failed", reason=f"exited {rc}" + (f": {note}" if note else ""))
        data.setdefault("status", "ok" if rc == 0 else "failed")
    return data or {"status": "not run", "reason": "the driver never reached it"}


def _bench_reports(work: Path) -> dict[str, dict[str, Any]]:
    """Each benchmark part's latency.json, by part name, in PARTS order."""
    return {name: report for name in BENCH_PARTS if (report := _load(work / name / "latency.json"))}


def _peak_for(report: dict[str, Any], backend: str) -> tuple[float | None, str]:
    from malade_export.bench.report import peak_gflops, peak_name

    try:
        return peak_gflops(report, backend), peak_name(report, backend)
    except (KeyError, TypeError):
        return None, "—"


def merged_rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Malade rows of every per-N report, each with the % of the peak that judges it; Defense-GAN rows once."""
    rows, seen_dgan = [], set()
    for report in reports:
        for row in report["rows"]:
            if row["kind"] == "malade":
                peak, name = _peak_for(report, row["backend"])
                rows.append({**row, "peak_gflops": peak, "peak": name,
                             "percent_of_peak": 100 * row["gflops"] / peak if peak else None})
            else:
                key = (row["backend"], row["steps"], row["restarts"], row["batch"])
                if key not in seen_dgan:
                    seen_dgan.add(key)
                    rows.append(row)
    return rows


def _find(rows: list[dict[str, Any]], **keys: object) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in keys.items())), None)


def table6(rows: list[dict[str, Any]], cpp: dict[str, Any], dgan_steps: int) -> list[dict[str, Any]]:
    """Per N at batch 1, in ms: our Malade (fastest CUDA backend, and each) and Defense-GAN (CUDA, R = 1) beside
    the paper's TITAN V numbers; the paper's Defense-GAN grows with N, so L = N is given next to L = 200."""
    out = []
    for n, (paper_malade, paper_dgan) in PAPER_TABLE6.items():
        malade = [r for r in rows if r["kind"] == "malade" and r["steps"] == n and r["batch"] == 1
                  and ("cuda" in r["backend"])]
        fastest = min(malade, key=lambda r: r["median_ms"]) if malade else None
        fp32 = [r for r in malade if not r["backend"].endswith(("-bf16", "-fp16"))]
        fastest_fp32 = min(fp32, key=lambda r: r["median_ms"]) if fp32 else None
        dg_n = _find(rows, kind="defensegan", backend="pytorch-cuda+autograd", steps=n, restarts=1, batch=1)
        dg_l = _find(rows, kind="defensegan", backend="pytorch-cuda+autograd", steps=dgan_steps, restarts=1, batch=1)
        libtorch = _find(cpp.get("rows", []), steps=n, batch=1)
        out.append({
            "N": n, "malade_fastest_cuda_ms": fastest and fastest["median_ms"],
            "malade_fastest_cuda_backend": fastest and fastest["backend"],
            "malade_fastest_cuda_fp32_ms": fastest_fp32 and fastest_fp32["median_ms"],
            "malade_fastest_cuda_fp32_backend": fastest_fp32 and fastest_fp32["backend"],
            "malade_ms_by_backend": {r["backend"]: r["median_ms"] for r in malade},
            "libtorch_cpp_ms": libtorch and libtorch.get("device") == "cuda" and libtorch["median_ms"] or None,
            "defensegan_cuda_R1_L_eq_N_ms": dg_n and dg_n["median_ms"],
            f"defensegan_cuda_R1_L{dgan_steps}_ms": dg_l and dg_l["median_ms"],
            "paper_malade_ms": paper_malade * 1e3, "paper_defensegan_R1_ms": paper_dgan * 1e3,
            "paper_ratio": paper_dgan / paper_malade,
            "our_ratio_L_eq_N": dg_n["median_ms"] / fastest["median_ms"] if dg_n and fastest else None,
        })
    return out


def _f(value: Any, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def to_markdown(result: dict[str, Any]) -> str:
    env = result["parts"].get("env", {})
    gpu = env.get("gpu")
    versions = env.get("versions", {})
    lines = [f"# Device check: {gpu or 'no GPU (CUDA parts skipped)'}", "",
             f"- mode: {result['mode']}; command: `{result['command']}`; total {result['elapsed_s']:.0f} s",
             f"- torch {versions.get('torch', '?')} (CUDA {versions.get('torch_cuda')}), "
             f"onnxruntime {versions.get('onnxruntime', '?')} ({', '.join(env.get('ort_providers', []))}), "
             f"python {env.get('python', '?')}, {env.get('cpu_cores', '?')} CPU cores; package imported from "
             f"`{env.get('malade_export_from', '?')}`",
             f"- cuDNN TF32: {env.get('cudnn_allow_tf32', '—')} (float32 convolutions run in TF32 when on)", ""]
    if not gpu:
        lines += ["**No CUDA device here: every GPU number below is absent, and the skip reasons say so.**", ""]
    lines += ["## Parts", ""]
    lines += _table(["part", "status", "seconds", "time box s", "reason"],
                    [[name, p.get("status", "?"), _f(p.get("seconds"), ".0f"), _f(p.get("time_box_s"), ".0f"),
                      p.get("reason", "")] for name, p in result["parts"].items()])
    t6 = result["table6"]
    steps = result["dgan_steps"]
    lines += ["", f"## The paper's Table 6 (ms, batch 1; paper: {PAPER_GPU}; here: {gpu or 'no GPU'})", ""]
    lines += _table(["N", "Malade, fastest CUDA backend", "which", "fastest float32", "which",
                     "LibTorch C++ CUDA", "Defense-GAN R=1, L=N", f"Defense-GAN R=1, L={steps}", "paper Malade",
                     "paper Defense-GAN R=1", "Defense-GAN/Malade here (L=N)", "paper ratio"],
                    [[str(t["N"]), _f(t["malade_fastest_cuda_ms"]), t["malade_fastest_cuda_backend"] or "—",
                      _f(t["malade_fastest_cuda_fp32_ms"]), t["malade_fastest_cuda_fp32_backend"] or "—",
                      _f(t["libtorch_cpp_ms"]), _f(t["defensegan_cuda_R1_L_eq_N_ms"], ".2f"),
                      _f(t[f"defensegan_cuda_R1_L{steps}_ms"], ".2f"), _f(t["paper_malade_ms"], ".0f"),
                      _f(t["paper_defensegan_R1_ms"], ".0f"), _f(t["our_ratio_L_eq_N"], ".1f"),
                      _f(t["paper_ratio"], ".1f")] for t in t6])
    peaks = result.get("gpu_matmul_peaks")
    lines += ["", "## Malade (every backend, N and batch)", ""]
    if peaks:
        lines.append("Measured GPU matmul peaks (GFLOP/s, " + f"{peaks['size']}^3): "
                     + ", ".join(f"{k} {v:.0f}" for k, v in peaks["gflops"].items())
                     + f"; float32 backends are judged by the {peaks['fp32_judged_by']} peak.")
        lines.append("")
    malade = [r for r in result["rows"] if r["kind"] == "malade"]
    lines += _table(["N", "batch", "backend", "median ms", "p90 ms", "img/s", "GFLOP/s", "% of peak", "peak"],
                    [[str(r["steps"]), str(r["batch"]), r["backend"], _f(r["median_ms"]), _f(r["p90_ms"]),
                      _f(r["throughput"], ".0f"), _f(r["gflops"], ".0f"), _f(r["percent_of_peak"], ".1f"), r["peak"]]
                     for r in malade])
    dgan = [r for r in result["rows"] if r["kind"] == "defensegan"]
    lines += ["", "## Defense-GAN", ""]
    lines += _table(["backend", "L", "R", "batch", "median ms", "how"],
                    [[r["backend"], str(r["steps"]), str(r["restarts"]), str(r["batch"]), _f(r["median_ms"], ".2f"),
                      f"scaled from L={r['measured_steps']}" if r["extrapolated"] else "measured"] for r in dgan])
    cpp = result["parts"].get("cpp", {})
    lines += ["", "## LibTorch C++ harness (cpp_bench/bench_libtorch)", ""]
    if cpp.get("rows"):
        lines += _table(["device", "N", "batch", "median ms", "p90 ms", "reps"],
                        [[r.get("device", "cpu"), str(r["steps"]), str(r["batch"]), _f(r["median_ms"]), _f(r["p90_ms"]),
                          str(r["reps"])] for r in cpp["rows"]])
    else:
        lines.append(f"Not measured: {cpp.get('reason', cpp.get('status', 'not run'))}")
    accuracy = result["parts"].get("accuracy", {})
    lines += ["", "## Outputs against ONNX Runtime CPU (same images, same noise)", ""]
    rows = [[str(c["N"]), str(c["batch"]), r["backend"], r["vs"], f"{r['max_abs_dlogits']:.3g}",
             f"{100 * r['label_agreement']:.1f} %"] for c in accuracy.get("chains", []) for r in c["rows"]]
    lines += _table(["N", "batch", "backend", "against", "max abs dlogits", "same label"], rows) if rows else \
        [f"Not measured: {accuracy.get('reason', accuracy.get('status', 'not run'))}"]
    if result["skipped"]:
        lines += ["", "## Skipped backends", ""] + [f"- {b}: {why}" for b, why in result["skipped"].items()]
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    """Median latency vs N per backend, one panel per batch; Defense-GAN and the paper's TITAN V points at batch 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    malade = [r for r in result["rows"] if r["kind"] == "malade"]
    batches = sorted({r["batch"] for r in malade}) or [1]
    fig, axes = plt.subplots(1, len(batches), figsize=(5.2 * len(batches), 4.6), squeeze=False)
    for ax, batch in zip(axes[0], batches, strict=True):
        for backend in dict.fromkeys(r["backend"] for r in malade):
            points = sorted((r["steps"], r["median_ms"]) for r in malade
                            if r["backend"] == backend and r["batch"] == batch)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=backend)
        if batch == 1:
            ns = sorted(PAPER_TABLE6)
            ax.plot(ns, [PAPER_TABLE6[n][0] * 1e3 for n in ns], "k*--", label=f"paper Malade ({PAPER_GPU})")
            ax.plot(ns, [PAPER_TABLE6[n][1] * 1e3 for n in ns], "kx:", label=f"paper Defense-GAN R=1 ({PAPER_GPU})")
            dgan = sorted((r["steps"], r["median_ms"]) for r in result["rows"] if r["kind"] == "defensegan"
                          and r["restarts"] == 1 and r["batch"] == 1 and r["steps"] in PAPER_TABLE6)
            if dgan:
                ax.plot([p[0] for p in dgan], [p[1] for p in dgan], "s-", color="gray",
                    label="Defense-GAN R=1, L=N (here)")
        ax.set_yscale("log")
        ax.set_xlabel("Langevin steps N")
        ax.set_ylabel("median ms per batch")
        ax.set_title(f"batch {batch}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    gpu = result["parts"].get("env", {}).get("gpu") or "no GPU"
    fig.suptitle(f"Malade latency, {gpu}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def assemble(work: Path, out_dir: Path, mode: str, command: str, started: float | None) -> None:
    parts = {name: part_status(work, name) for name in PARTS}
    by_part = _bench_reports(work)
    for name, report in by_part.items():
        parts[name]["environment"] = report.get("environment")
    reports = list(by_part.values())
    rows = merged_rows(reports)
    skipped: dict[str, str] = {}
    for report in reports:
        skipped.update(report.get("skipped", {}))
    skipped.update(parts["accuracy"].get("skipped", {}))
    dgan_steps = reports[0]["config"]["dgan_steps"] if reports else 200
    cuda_peaks = next((r["matmul_peak_cuda"] for r in reports if r.get("matmul_peak_cuda")), None)
    result = {
        "mode": mode, "command": command, "parts": parts, "rows": rows, "skipped": skipped,
        "gpu_matmul_peaks": cuda_peaks, "cpu_matmul_peak": reports[0]["matmul_peak"] if reports else None,
        "dgan_steps": dgan_steps, "table6": table6(rows, parts["cpp"], dgan_steps),
        "paper": {"table6_seconds": {str(k): v for k, v in PAPER_TABLE6.items()}, "gpu": PAPER_GPU,
                  "columns": ["Malade", "Defense-GAN R=1"]},
        "bench_configs": {name: report["config"] for name, report in by_part.items()},
        "elapsed_s": time.time() - started if started else 0.0,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "device_check.json", result)  # first: whatever fails below, the JSON is there
    (out_dir / "device_check.md").write_text(to_markdown(result))
    plot(result, out_dir / "device_check.png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="device_check.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    env = sub.add_parser("env")
    env.add_argument("--out", type=Path, required=True)
    env.add_argument("--install-log", type=Path)
    acc = sub.add_parser("accuracy")
    acc.add_argument("--work", type=Path, required=True)
    acc.add_argument("--out", type=Path, required=True)
    acc.add_argument("--batch", type=int, default=64)
    cpp = sub.add_parser("cpp")
    cpp.add_argument("--work", type=Path, required=True)
    cpp.add_argument("--out", type=Path, required=True)
    cpp.add_argument("--build", type=Path, required=True)
    cpp.add_argument("--steps", default="10,25,50")
    cpp.add_argument("--batches", default="1,64,1024")
    cpp.add_argument("--reps", type=int, default=20)
    asm = sub.add_parser("assemble")
    asm.add_argument("--work", type=Path, required=True)
    asm.add_argument("--out-dir", type=Path, required=True)
    asm.add_argument("--mode", default="gpu")
    asm.add_argument("--command", default="scripts/device_check.sh")
    asm.add_argument("--started", type=float, default=None, help="epoch seconds the check began")
    args = parser.parse_args(argv)
    if args.part == "env":
        run_part(args.out, lambda: env_part(args.install_log))
    elif args.part == "accuracy":
        run_part(args.out, lambda: accuracy_part(args.work, args.batch))
    elif args.part == "cpp":
        run_part(args.out, lambda: cpp_part(args.work, args.build, _ints(args.steps), _ints(args.batches), args.reps))
    else:
        assemble(args.work, args.out_dir, args.mode, args.command, args.started)


if __name__ == "__main__":
    main()
