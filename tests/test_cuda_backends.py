"""The benchmark's CUDA backends: one-line skips without a GPU, torch.compile failures caught before the
timing, GPU peaks judging CUDA rows; on a GPU (marker `gpu`), each backend's logits against the CPU."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from malade_export.bench.backends import BACKENDS, BackendUnavailable, make_runner
from malade_export.bench.cuda_backends import force_compile

HAS_CUDA = torch.cuda.is_available()
PRECISIONS = {"pytorch-cuda-eager": "fp32", "torchscript-cuda": "fp32", "pytorch-compile-cuda": "fp32",
              "pytorch-compile-cuda-bf16": "bf16", "pytorch-compile-cuda-fp16": "fp16"}


@pytest.fixture(scope="module")
def files(tiny_checkpoints, tmp_path_factory):
    from malade_export.bench.artifacts import export_chain
    from malade_export.chain import load_defense

    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    return export_chain(loaded, tmp_path_factory.mktemp("cuda_files"))


def test_every_cuda_backend_is_registered_as_a_gpu_backend_of_its_precision() -> None:
    for name, precision in PRECISIONS.items():
        entry = BACKENDS.get(name)
        assert entry.gpu and entry.precision == precision
        assert entry.in_memory == (name != "torchscript-cuda")  # only TorchScript reads an exported file


def test_the_torchscript_file_pins_no_device(files) -> None:
    """A device constant in the traced graph (a tensor made in forward) breaks map_location='cuda' and the
    LibTorch harness's --device cuda; the chain's constants must travel as buffers."""
    module = torch.jit.load(str(files.torchscript))
    graph = module.defense.graph.copy()
    torch._C._jit_pass_inline(graph)
    assert "Device = prim::Constant" not in str(graph)
    assert "defense.kick_scale" in dict(module.named_buffers())  # what map_location moves


@pytest.mark.skipif(HAS_CUDA, reason="checks the skip where there is no GPU")
@pytest.mark.parametrize("backend", [*PRECISIONS, "pytorch-cuda-graphs"])
def test_cuda_backends_skip_in_one_line_without_a_gpu(files, backend) -> None:
    with pytest.raises(BackendUnavailable, match="sees no CUDA device") as info:
        make_runner(backend, files, 2, 1)
    assert "\n" not in str(info.value)


def test_a_compiler_failure_becomes_backend_unavailable_before_timing() -> None:
    """What the GPU machine does if inductor or Triton finds no working C compiler: here, inductor's CPU
    path is pointed at a compiler that does not exist."""
    import torch._inductor.config as inductor

    compiled = torch.compile(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    previous = inductor.cpp.cxx
    inductor.cpp.cxx = ("/nonexistent/c++",)
    try:
        with pytest.raises(BackendUnavailable, match=r"^torch.compile \(probe\) failed here: ") as info:
            force_compile(lambda: compiled(torch.randn(2, 4)), "probe")
    finally:
        inductor.cpp.cxx = previous
        torch._dynamo.reset()
    assert "\n" not in str(info.value)


def test_the_compiled_chain_lives_wholly_on_its_device_in_its_precision(files, monkeypatch) -> None:
    """Run here on the meta device, with torch.compile as the identity: a buffer or input left on the CPU
    (the chain's delta_t, say) fails the forward pass as it would on CUDA."""
    from malade_export.bench import cuda_backends

    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: module)
    monkeypatch.setattr(cuda_backends, "_COMPILED", {})
    defense = cuda_backends.compiled_defense(files, "bf16", device="meta")
    tensors = [*defense.parameters(), *defense.buffers()]
    assert {(t.device.type, t.dtype) for t in tensors} == {("meta", torch.bfloat16)}
    x, noise = cuda_backends.cuda_inputs(files, 4, torch.bfloat16, device="meta")
    with torch.inference_mode():
        logits = defense(x, noise)[0]
    assert logits.device.type == "meta" and logits.dtype == torch.bfloat16 and logits.shape == (4, 10)


def test_cuda_rows_are_judged_by_the_gpu_peak_of_their_precision() -> None:
    from malade_export.bench.report import peak_gflops, peak_name

    report = {"matmul_peak": {"gflops": 100.0}, "matmul_peak_bf16": {"gflops": 400.0},
              "matmul_peak_cuda": {"gflops": {"fp32": 50e3, "tf32": 400e3, "bf16": 800e3, "fp16": 790e3},
                                   "fp32_judged_by": "tf32"}}
    assert peak_gflops(report, "pytorch-cuda-eager") == 400e3 and peak_name(report, "pytorch-cuda-eager") == "GPU tf32"
    assert peak_gflops(report, "pytorch-compile-cuda-bf16") == 800e3
    assert peak_gflops(report, "pytorch-compile-cuda-fp16") == 790e3
    assert peak_gflops(report, "ort-cpu") == 100.0 and peak_name(report, "ort-cpu") == "fp32"
    strict = {**report, "matmul_peak_cuda": {**report["matmul_peak_cuda"], "fp32_judged_by": "fp32"}}
    assert peak_gflops(strict, "pytorch-cuda-graphs") == 50e3


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("backend, tolerance", [("pytorch-cuda-eager", 2e-2), ("pytorch-cuda-graphs", 2e-2),
                                                ("torchscript-cuda", 2e-2), ("pytorch-compile-cuda", 2e-2),
                                                ("pytorch-compile-cuda-bf16", 0.5), ("pytorch-compile-cuda-fp16", 0.1)])
def test_cuda_backend_logits_match_the_cpu(files, backend, tolerance) -> None:
    want = make_runner("pytorch-eager", files, 8, 1)()[0]
    got = make_runner(backend, files, 8, 1)()[0].float().cpu()
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= tolerance


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_gpu_matmul_peaks_and_defensegan_on_cuda(tiny_checkpoints) -> None:
    from malade_export.bench.cuda_peak import cuda_matmul_peaks
    from malade_export.bench.latency import defensegan_runner
    from malade_export.checkpoint import load_checkpoint
    from malade_export.defenses.defensegan import ReconstructionSettings
    from malade_export.models.gan import Generator

    peaks = cuda_matmul_peaks(size=1024, reps=2)
    assert all(value > 0 for value in peaks["gflops"].values())
    clf = load_checkpoint(tiny_checkpoints["classifier"], "classifier")
    run, measured, scale = defensegan_runner(Generator(1), clf.model, (1, 28, 28), 2,
                                             ReconstructionSettings(steps=4, restarts=2), 2, device="cuda")
    logits = run()
    assert logits.is_cuda and logits.shape == (2, 10) and measured == 2 and scale == pytest.approx(9 / 5)


def test_a_run_of_in_memory_backends_exports_nothing(tmp_path) -> None:
    """torch.compile and CUDA-graph runs read no file: exporting N = 50 four times over would only cost time."""
    from malade_export.bench.artifacts import bench_checkpoints
    from malade_export.bench.latency import BenchConfig, _malade_cases

    classifier, sdae, _ = bench_checkpoints(tmp_path)
    in_memory = BenchConfig(steps=(2,), batches=(1,), backends=("pytorch-eager", "pytorch-compile-cuda"))
    assert len(_malade_cases(in_memory, classifier, sdae, tmp_path)) == 2
    assert not list(tmp_path.glob("**/malade_n2*"))
    _malade_cases(BenchConfig(steps=(2,), batches=(1,), backends=("torchscript-cuda",)), classifier, sdae, tmp_path)
    assert (tmp_path / "malade_n2.pt").is_file()
