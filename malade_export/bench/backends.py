"""One zero-argument callable per (backend, chain, batch): exactly the work one timed call does.

Inputs (image batch, noise or seeds) are made once outside the callable, so every backend times
the graph alone on the same data. A backend that cannot run here raises ``BackendUnavailable``
with a one-line reason, which the suite records as "skipped" instead of failing.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..chain import MaladeDefense
from ..errors import MaladeError
from ..registry import Registry

Runner = Callable[[], object]


class BackendUnavailable(Exception):
    """This backend cannot run on this machine; the message says why in one line."""


@dataclass
class ChainFiles:
    """One chain length N and its exported files: noise-input and seed ONNX spelled for ONNX Runtime's
    CPU provider, noise-input TorchScript, and noise-input ONNX as trained (for OpenVINO and GPUs)."""

    defense: MaladeDefense
    onnx: Path
    onnx_seed: Path
    torchscript: Path
    onnx_plain: Path


@dataclass(frozen=True)
class Backend:
    """One way to run the chain in the benchmark: how to build its timed call, and what it is."""

    make: Callable[[ChainFiles, int, int], Runner]  # (files, batch, threads) -> the timed call
    description: str
    gpu: bool = False
    precision: str = "fp32"  # the matmul peak it is judged against ("bf16" for bfloat16 runtimes)
    in_memory: bool = False  # runs the chain object and reads no exported file: a run of only these exports nothing


BACKENDS: Registry[Backend] = Registry("backend")
Factory = Callable[[ChainFiles, int, int], Runner]


def backend(name: str, description: str, *, gpu: bool = False, precision: str = "fp32",
            in_memory: bool = False) -> Callable[[Factory], Factory]:
    """Decorator: register the factory below as benchmark backend ``name``."""
    def add(make: Factory) -> Factory:
        BACKENDS.register(name)(Backend(make, description, gpu, precision, in_memory))
        return make

    return add


def is_bf16(name: str) -> bool:
    return name in BACKENDS and BACKENDS.get(name).precision == "bf16"


def _inputs(defense: MaladeDefense, batch: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    gen = torch.Generator().manual_seed(batch)
    x = torch.rand(batch, *defense.input_shape, generator=gen)
    noise = torch.randn(defense.noise_shape(batch), generator=gen)
    seeds = np.arange(batch, dtype=np.int64) + 12345
    return x, noise, seeds


@backend("pytorch-eager", "PyTorch eager, inference_mode, noise fed in", in_memory=True)
def _eager(files: ChainFiles, batch: int, threads: int) -> Runner:
    x, noise, _ = _inputs(files.defense, batch)

    def run() -> object:
        with torch.inference_mode():
            return files.defense(x, noise)

    return run


@backend("torchscript", "TorchScript file (torch.jit.load), noise fed in")
def _torchscript(files: ChainFiles, batch: int, threads: int) -> Runner:
    module = torch.jit.load(str(files.torchscript)).eval()
    x, noise, _ = _inputs(files.defense, batch)

    def run() -> object:
        with torch.inference_mode():
            return module(x, noise)

    return run


def _ort(path: Path, files: ChainFiles, batch: int, threads: int, providers: str | list[str]) -> Runner:
    from ..runtime.ort import Session

    try:
        session = Session(path, providers=providers, threads=threads)
    except MaladeError as exc:
        raise BackendUnavailable(str(exc)) from None
    x, _, seeds = _inputs(files.defense, batch)
    feeds = session.feeds(x.numpy(), seeds)  # noise (input mode) is made here, once, outside the timing
    raw = session.session
    return lambda: raw.run(None, feeds)


@backend("ort-cpu", "ONNX Runtime CPU, noise fed in (pre-made, not timed)")
def _ort_cpu(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _ort(files.onnx, files, batch, threads, "cpu")


@backend("ort-cpu-seed", "ONNX Runtime CPU, seed input: noise made inside the graph")
def _ort_cpu_seed(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _ort(files.onnx_seed, files, batch, threads, "cpu")


def _session(path: Path, files: ChainFiles, batch: int, threads: int) -> Runner:
    """What a user's call costs: seeds, noise (host or graph), validation and the run, all timed."""
    from ..runtime.ort import Session

    session = Session(path, threads=threads)
    x = _inputs(files.defense, batch)[0].numpy()
    return lambda: session.predict(x)


@backend("ort-session", "Session.predict end to end on the noise-input file: fresh OS-entropy seeds, noise made on "
                   "the host (numpy), ONNX Runtime CPU, softmax")
def _ort_session(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _session(files.onnx, files, batch, threads)


@backend("ort-session-seed",
         "Session.predict end to end on the seed file: fresh OS-entropy seeds, noise made in the graph")
def _ort_session_seed(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _session(files.onnx_seed, files, batch, threads)


def _openvino(files: ChainFiles, batch: int, threads: int, precision: str) -> Runner:
    from ..runtime.openvino import open_exact

    try:
        session = open_exact(files.onnx_plain, precision, threads)
    except MaladeError as exc:
        raise BackendUnavailable(str(exc)) from None
    x, _, seeds = _inputs(files.defense, batch)
    feeds = session.feeds(x.numpy(), seeds)  # the very feeds the ORT noise-input backend gets
    request = session.compiled.create_infer_request()
    return lambda: request.infer(feeds)


@backend("openvino-cpu", "OpenVINO CPU plugin on the same ONNX file, float32 forced, noise fed in (seed mode is "
                    "unsupported: OpenVINO narrows 64-bit integers to 32 bits, which changes the noise)")
def _openvino_f32(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _openvino(files, batch, threads, "f32")


@backend("openvino-cpu-bf16", "OpenVINO CPU plugin on the same ONNX file in bfloat16 (CPUs with AVX512-BF16 or AMX; "
                         "robustness checked separately), noise fed in", precision="bf16")
def _openvino_bf16(files: ChainFiles, batch: int, threads: int) -> Runner:
    return _openvino(files, batch, threads, "bf16")


@backend("ort-cuda", "ONNX Runtime CUDA provider, noise fed in (host copies included)", gpu=True)
def _ort_cuda(files: ChainFiles, batch: int, threads: int) -> Runner:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise BackendUnavailable(f"onnxruntime {ort.__version__} here has no CUDAExecutionProvider "
                                 "(needs onnxruntime-gpu and an NVIDIA GPU)")
    return _ort(files.onnx_plain, files, batch, threads, ["CUDAExecutionProvider", "CPUExecutionProvider"])


@backend("tensorrt", "TensorRT engine from the ONNX, device buffers", gpu=True)
def _tensorrt(files: ChainFiles, batch: int, threads: int) -> Runner:
    from ..runtime.trt import TensorRTSession, build_engine, require_tensorrt

    try:
        require_tensorrt()
    except MaladeError as exc:
        raise BackendUnavailable(str(exc)) from None
    plan = build_engine(files.onnx_plain, files.onnx_plain.with_name(f"{files.onnx_plain.stem}_b{batch}.plan"),
                        opt_batch=batch, max_batch=max(batch, 64))
    runner = TensorRTSession(plan)
    x, noise, _ = _inputs(files.defense, batch)
    feeds = {"x": x.cuda(), "noise": noise.cuda()}
    return lambda: runner.run_device(dict(feeds))


@backend("pytorch-cuda-graphs", "PyTorch eager captured in a CUDA graph, replayed", gpu=True, in_memory=True)
def _cuda_graphs(files: ChainFiles, batch: int, threads: int) -> Runner:
    if not torch.cuda.is_available():
        raise BackendUnavailable(f"torch {torch.__version__} sees no CUDA device")
    defense = copy.deepcopy(files.defense).cuda().eval()
    x, noise, _ = (t.cuda() if isinstance(t, torch.Tensor) else t for t in _inputs(files.defense, batch))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.inference_mode():
        for _ in range(3):  # warm up kernels and the allocator before capture, as CUDA graphs require
            defense(x, noise)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.inference_mode():
        out = defense(x, noise)  # lives in the graph's memory: each replay rewrites it

    def run() -> object:
        graph.replay()
        torch.cuda.synchronize()
        return out

    return run


def make_runner(name: str, files: ChainFiles, batch: int, threads: int) -> Runner:
    """The timed callable for backend ``name``; raises BackendUnavailable when it cannot run here."""
    return BACKENDS.get(name).make(files, batch, threads)


from . import cuda_backends  # noqa: E402,F401  (registers the PyTorch CUDA backends; it builds on the names above)
