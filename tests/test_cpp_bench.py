"""cpp_bench builds and its harnesses time a tiny exported chain, printing one parseable JSON line.

Slow (LibTorch compiles in about a minute on two cores). Skips cleanly without cmake, a C++
compiler or LibTorch's CMake files; the ONNX Runtime harness is checked only where its headers were
already assembled (cpp_bench/fetch_ort_root.sh, or $ONNXRUNTIME_ROOT): tests never download.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "cpp_bench"


def _ort_root() -> Path | None:
    for root in (os.environ.get("ONNXRUNTIME_ROOT"), SOURCE / "build" / "onnxruntime"):
        if root and (Path(root) / "include" / "onnxruntime_cxx_api.h").is_file():
            return Path(root)
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("cmake") or not (shutil.which("c++") or shutil.which("g++")):
        pytest.skip("cmake or a C++ compiler is missing")
    import torch

    prefix = Path(torch.utils.cmake_prefix_path)
    if not (prefix / "Torch" / "TorchConfig.cmake").is_file():
        pytest.skip("this torch install ships no LibTorch CMake files")
    build = tmp_path_factory.mktemp("cpp_build")
    configure = ["cmake", "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DCMAKE_PREFIX_PATH={prefix}"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    ort = _ort_root()
    configure.append(f"-DONNXRUNTIME_ROOT={ort or ''}" if ort else "-DMALADE_BENCH_ORT=OFF")
    subprocess.run(configure, check=True, capture_output=True, text=True)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, capture_output=True, text=True, timeout=600)
    return build


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from malade_export.bench.artifacts import bench_checkpoints, export_chain
    from malade_export.chain import load_defense

    work = tmp_path_factory.mktemp("cpp_models")
    classifier, sdae, _ = bench_checkpoints(work)
    export_chain(load_defense(classifier, sdae, steps=2), work)
    return work


def _run(binary: Path, model: Path, batch: int = 3, device: str | None = None) -> dict[str, object]:
    done = subprocess.run([str(binary), str(model), "--batch", str(batch), "--reps", "4", "--warmup", "1",
                           "--threads", "1", *(["--device", device] if device else [])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["steps"] == 2 and row["batch"] == batch and row["reps"] == 4 and row["threads"] == 1
    assert row["logits_shape"] == [batch, 10]
    assert 0 < row["min_ms"] <= row["median_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert row["throughput"] == pytest.approx(batch / (row["median_ms"] / 1e3), rel=1e-3)
    return row


def test_libtorch_harness_times_the_torchscript_file(built: Path, exported: Path) -> None:
    assert _run(built / "bench_libtorch", exported / "malade_n2.pt")["harness"] == "libtorch"


def test_libtorch_harness_device_option(built: Path, exported: Path) -> None:
    """--device cpu is the default and is recorded; cuda runs where LibTorch has a GPU, else fails in one line."""
    import torch

    assert _run(built / "bench_libtorch", exported / "malade_n2.pt", device="cpu")["device"] == "cpu"
    if torch.cuda.is_available():
        assert _run(built / "bench_libtorch", exported / "malade_n2.pt", device="cuda")["device"] == "cuda"
        return
    done = subprocess.run([str(built / "bench_libtorch"), str(exported / "malade_n2.pt"), "--device", "cuda"],
                          capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        "bench_libtorch: --device cuda: this LibTorch sees no CUDA device"]


def test_libtorch_harness_fails_in_one_line(built: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(built / "bench_libtorch"), str(tmp_path / "missing.pt")], capture_output=True, text=True)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1


def test_ort_harness_times_noise_and_seed_graphs(built: Path, exported: Path) -> None:
    if not (built / "bench_ort").is_file():
        pytest.skip("no ONNX Runtime C++ headers assembled (run cpp_bench/fetch_ort_root.sh)")
    assert _run(built / "bench_ort", exported / "malade_n2.onnx")["harness"] == "onnxruntime"
    assert _run(built / "bench_ort", exported / "malade_n2_seed.onnx")["harness"] == "onnxruntime-seed"


def test_python_twin_row_matches_the_harness_line_and_compare_uses_median_over_rounds(
        exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from malade_export.bench.cpp_compare import compare, main

    main(["time", "onnxruntime", str(exported), "--steps", "2", "--batch", "3", "--reps", "2", "--warmup", "0"])
    line = json.loads(capsys.readouterr().out)
    assert line["python_twin"] == "ort-cpu" and (line["steps"], line["batch"], line["reps"]) == (2, 3, 2)
    assert 0 < line["median_ms"] <= line["p90_ms"]
    case = {"harness": "libtorch", "steps": 2, "batch": 1, "threads": 1}
    cpp = [{**case, "median_ms": ms} for ms in (10.0, 30.0, 12.0)]
    python = [{**case, "median_ms": ms} for ms in (11.0, 13.0, 33.0)]
    row = compare(cpp, python).splitlines()[-1]
    # medians over rounds: C++ 12, Python 13 (not the means, which a slow round would drag)
    assert row == "| libtorch | torchscript | 2 | 1 | 1 | 3 | 12.000 | 13.000 | 1.08 | 0.43–2.75 |"
