"""`malade bench`: a quick run writes its report; bad options are one-line errors."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from malade_export.bench.flops import chain_macs
from malade_export.chain import load_defense
from malade_export.cli.main import main


@pytest.mark.slow
def test_bench_quick_writes_json_markdown_png(tmp_path) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--quick", "--out-dir", str(out), "--batches", "1,2", "--reps", "1", "--warmup", "0",
            "--threads", "1", "--dgan-steps", "4", "--dgan-measure-steps", "2",
            "--backends", "pytorch-eager,ort-cpu,ort-cpu-seed,ort-cuda"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "latency.json").read_text())
    malade = [r for r in report["rows"] if r["kind"] == "malade"]
    assert {(r["backend"], r["batch"]) for r in malade} == {
        (b, n) for b in ("pytorch-eager", "ort-cpu", "ort-cpu-seed") for n in (1, 2)}
    assert all(r["median_ms"] > 0 and r["p99_ms"] >= r["p90_ms"] >= r["median_ms"] for r in report["rows"])
    macs = chain_macs(load_defense(steps=10).defense)["total"]  # checked against the analytic count in test_bench
    assert all(r["gflop_per_sample"] == pytest.approx(2 * macs / 1e9) for r in malade)
    dgan = [r for r in report["rows"] if r["kind"] == "defensegan"]
    assert {(r["steps"], r["restarts"]) for r in dgan} == {(4, 1), (4, 10), (10, 1)}
    assert all(r["extrapolated"] and r["measured_steps"] == 2 for r in dgan)
    if "CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers():
        assert "ort-cuda" in report["skipped"]
    assert report["matmul_peak"]["gflops"] > 0 and report["environment"]["threads"] == 1
    assert report["ratios"]["eager_over_ort_cpu_batch1_N10"] > 0
    markdown = (out / "latency.md").read_text()
    assert "Paper Table 6 layout" in markdown and "needs autograd at inference" in markdown
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Defense-GAN (L=4, R=10) / Malade (N=10, ORT CPU), batch 1:" in result.output
    assert "ORT seed mode vs noise input, batch1:" in result.output


def test_bench_rejects_unknown_backend(tmp_path) -> None:
    result = CliRunner().invoke(main, ["bench", "--quick", "--backends", "tpu", "--out-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown backend(s) tpu" in result.output


def test_bench_cli_takes_cuda_backends_and_defensegan_devices(tmp_path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["bench", "--dgan-devices", "tpu", "--out-dir", str(tmp_path)])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --dgan-devices takes cpu and/or cuda, or none")
    if torch.cuda.is_available():
        return
    done = runner.invoke(main, ["bench", "--quick", "--out-dir", str(tmp_path), "--backends", "pytorch-cuda-eager",
                                "--batches", "1", "--dgan-devices", "cuda", "--dgan-restarts", "1",
                                "--dgan-measure-steps", "1"])
    assert done.exit_code == 0, done.output
    assert "skip pytorch-cuda-eager: torch" in done.output and "skip pytorch-cuda+autograd: torch" in done.output
