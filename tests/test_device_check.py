"""scripts/device_check.sh: its short mode runs here end to end, so the GPU run cannot rot before a GPU
turns up; the assembler reports dead and skipped parts instead of failing with them."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "device_check.sh"
CUDA_BACKENDS = ("pytorch-cuda-eager", "pytorch-cuda-graphs", "torchscript-cuda", "pytorch-compile-cuda",
                 "pytorch-compile-cuda-bf16", "pytorch-compile-cuda-fp16", "pytorch-cuda+autograd")


def _module():
    spec = importlib.util.spec_from_file_location("device_check", ROOT / "scripts" / "device_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.slow
def test_short_mode_installs_the_package_times_it_and_says_what_was_skipped(tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable, "DEVICE_CHECK_WORK": str(work)}
    absent = [p for p in (ROOT / "build", ROOT / "malade_export.egg-info") if not p.exists()]
    done = subprocess.run(["bash", str(SCRIPT), str(out), "--short"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["device_check.json", "device_check.log", "device_check.md",
                                                     "device_check.png"]  # few files: the device tool returns 8
    result = json.loads((out / "device_check.json").read_text())
    parts = result["parts"]
    assert {name: parts[name]["status"] for name in ("env", "bench_cuda", "accuracy")} == dict.fromkeys(
        ("env", "bench_cuda", "accuracy"), "ok"), parts
    assert all(parts[name]["status"] == "skipped" and "--short" in parts[name]["reason"]
               for name in ("compile_n10", "compile_n25", "compile_n50", "cpp"))
    if importlib.util.find_spec("setuptools"):  # the installed copy (pip --no-deps --no-index) is what ran
        assert parts["install"]["status"] == "ok", parts["install"]
        assert parts["env"]["malade_export_from"].startswith(str(work / "site"))
    else:  # no build backend offline: the check ran from the checkout and says so
        assert parts["install"]["status"] == "failed" and "PYTHONPATH" in parts["install"]["reason"]
        assert parts["env"]["malade_export_from"] == str(ROOT / "malade_export")
    malade = {(r["backend"], r["steps"], r["batch"]) for r in result["rows"] if r["kind"] == "malade"}
    assert {("pytorch-eager", 10, 1), ("ort-cpu", 10, 1)} <= malade
    if not torch.cuda.is_available():
        assert set(CUDA_BACKENDS) <= set(result["skipped"])
        assert all("no CUDA device" in result["skipped"][b] for b in CUDA_BACKENDS)
        assert result["gpu_matmul_peaks"] is None
        assert "No CUDA device here" in (out / "device_check.md").read_text()
    assert [(t["N"], t["paper_malade_ms"], t["paper_defensegan_R1_ms"]) for t in result["table6"]] == [
        (10, 8.0, 43.0), (25, 16.0, 70.0), (50, 28.0, 137.0)]
    (chain,) = parts["accuracy"]["chains"]
    compared = {r["backend"]: r for r in chain["rows"]}
    for backend in ("pytorch-eager", "torchscript"):
        assert compared[backend]["max_abs_dlogits"] < 1e-3 and compared[backend]["label_agreement"] == 1.0
    assert (out / "device_check.png").read_bytes()[:4] == b"\x89PNG"
    assert not any(p.exists() for p in absent), "the install left setuptools' build folders in the checkout"


def test_a_dead_part_is_reported_and_the_report_is_still_written(tmp_path: Path) -> None:
    device_check = _module()
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "env.json").write_text(json.dumps({"status": "ok", "gpu": None, "versions": {}}))
    (parts / "bench_cuda.rc").write_text("124 180 180\n")
    (parts / "cpp.rc").write_text("99 0 0 no time left in the 450 s budget\n")
    (parts / "accuracy.json").write_text(json.dumps({"status": "failed", "reason": "RuntimeError: boom"}))
    (parts / "accuracy.rc").write_text("0 3 90\n")
    device_check.assemble(tmp_path, tmp_path / "out", "gpu", "scripts/device_check.sh out", None)
    result = json.loads((tmp_path / "out" / "device_check.json").read_text())
    status = {name: (p["status"], p.get("reason", "")) for name, p in result["parts"].items()}
    assert status["bench_cuda"] == ("failed", "ran past its time box of 180 s and was stopped")
    assert status["cpp"] == ("skipped", "no time left in the 450 s budget")
    assert status["accuracy"] == ("failed", "RuntimeError: boom")
    assert status["compile_n25"][0] == "not run"
    assert result["rows"] == [] and all(t["malade_fastest_cuda_ms"] is None for t in result["table6"])
    assert "ran past its time box" in (tmp_path / "out" / "device_check.md").read_text()


def test_a_rerun_of_some_parts_skips_the_others_and_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "DEVICE_CHECK_PARTS": "accuracy_typo"}
    done = subprocess.run(["bash", str(SCRIPT), str(tmp_path), "--short"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    parts = json.loads((tmp_path / "device_check.json").read_text())["parts"]
    assert parts["env"]["status"] == "ok"
    assert parts["bench_cuda"] == {"status": "skipped", "reason": "not among DEVICE_CHECK_PARTS=accuracy_typo",
                                   "seconds": 0.0, "time_box_s": 0.0}


def test_usage_without_an_output_folder() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 2 and "OUT_DIR" in done.stdout
