"""The benchmark's PyTorch CUDA backends: eager, TorchScript and torch.compile (fp32, bf16, fp16).

Each factory takes the same (files, batch, threads) as the CPU backends, feeds the very inputs they
get (moved to the GPU once, outside the timing) and synchronizes inside the timed call, so a time is
the GPU's work and not a kernel launch. A backend that cannot run here raises ``BackendUnavailable``
with a one-line reason; torch.compile is forced to compile (and so to fail, if inductor or Triton
cannot build a kernel here) before the factory returns, never inside the timing.

torch.compile compiles the two networks (sDAE and classifier), not the unrolled chain: the chain at
N = 50 is 50 copies of the sDAE, which inductor would compile for minutes, while the networks are
the same at every N. The Langevin update between them (a few element-wise kernels) stays eager.
Compiled networks are cached by (weights, dtype) and compiled with a dynamic batch, so every N, batch
and pass reuses one compilation per network and precision.
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable

import torch
from torch import nn

from .backends import BackendUnavailable, ChainFiles, Runner, _inputs, backend

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_COMPILED: dict[tuple[str, str, str], nn.Module] = {}  # (weights' sha256, precision, device) -> compiled copy


def require_cuda() -> None:
    """Raise BackendUnavailable (one line) where torch sees no CUDA device."""
    if not torch.cuda.is_available():
        raise BackendUnavailable(f"torch {torch.__version__} sees no CUDA device")


def cuda_inputs(files: ChainFiles, batch: int, dtype: torch.dtype = torch.float32,
                device: str = "cuda") -> tuple[torch.Tensor, torch.Tensor]:
    """The CPU backends' image batch and noise for this batch size, on the GPU in ``dtype``."""
    x, noise, _ = _inputs(files.defense, batch)
    return x.to(device, dtype), noise.to(device, dtype)


def _synchronized(call: Callable[[], object]) -> Runner:
    def run() -> object:
        out = call()
        torch.cuda.synchronize()
        return out

    return run


@backend("pytorch-cuda-eager", "PyTorch eager on CUDA, float32 (cuDNN's TF32 setting as torch defaults), noise fed in",
         gpu=True, in_memory=True)
def _eager(files: ChainFiles, batch: int, threads: int) -> Runner:
    require_cuda()
    defense = copy.deepcopy(files.defense).cuda().eval()
    x, noise = cuda_inputs(files, batch)

    def call() -> object:
        with torch.inference_mode():
            return defense(x, noise)

    return _synchronized(call)


@backend("torchscript-cuda", "TorchScript file loaded onto CUDA (the LibTorch harness's file, from Python)", gpu=True)
def _torchscript(files: ChainFiles, batch: int, threads: int) -> Runner:
    require_cuda()
    module = torch.jit.load(str(files.torchscript), map_location="cuda").eval()
    x, noise = cuda_inputs(files, batch)

    def call() -> object:
        with torch.inference_mode():
            return module(x, noise)

    return _synchronized(call)


def _fingerprint(module: nn.Module) -> str:
    digest = hashlib.sha256(type(module).__name__.encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _compiled(module: nn.Module, precision: str, device: str) -> nn.Module:
    """One torch.compile'd copy of ``module`` on ``device`` in ``precision`` per (weights, precision, device)."""
    key = (_fingerprint(module), precision, device)
    if key not in _COMPILED:
        dynamo = torch._dynamo.config
        # Never fall back to eager silently when the recompile limit is hit: the row would be mislabelled.
        if hasattr(dynamo, "fail_on_recompile_limit_hit"):
            dynamo.fail_on_recompile_limit_hit = True
        for limit in ("recompile_limit", "cache_size_limit"):  # 3 precisions per network class, with room
            if hasattr(dynamo, limit):
                setattr(dynamo, limit, max(getattr(dynamo, limit), 16))
        # dynamic: one compilation serves batch 1, 64 and 1024 instead of a recompile per batch size
        _COMPILED[key] = torch.compile(copy.deepcopy(module).to(device, DTYPES[precision]).eval(), dynamic=True)
    return _COMPILED[key]


def compiled_defense(files: ChainFiles, precision: str, device: str = "cuda") -> nn.Module:
    """The chain on ``device`` in ``precision`` with its sDAE and classifier torch.compile'd (lazily).

    The whole copy moves first: the chain's own buffers (delta_t) must sit on the device too."""
    defense = copy.deepcopy(files.defense).to(device, DTYPES[precision])
    defense.dae = _compiled(files.defense.dae, precision, device)
    defense.classifier = _compiled(files.defense.classifier, precision, device)
    return defense


def force_compile(call: Callable[[], object], what: str) -> None:
    """Run ``call`` once so torch.compile builds its kernels now; any failure becomes BackendUnavailable."""
    try:
        call()
    except Exception as exc:  # inductor / Triton / the C compiler: many exception types, one meaning
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise BackendUnavailable(f"torch.compile ({what}) failed here: {type(exc).__name__}: {first}") from None


def _compile(precision: str) -> Callable[[ChainFiles, int, int], Runner]:
    def factory(files: ChainFiles, batch: int, threads: int) -> Runner:
        require_cuda()
        defense = compiled_defense(files, precision)
        x, noise = cuda_inputs(files, batch, DTYPES[precision])

        def call() -> object:
            with torch.inference_mode():
                return defense(x, noise)

        run = _synchronized(call)
        force_compile(run, f"{precision}, batch {batch}")
        return run

    return factory


backend("pytorch-compile-cuda", "torch.compile'd sDAE and classifier on CUDA, float32; Langevin update eager",
        gpu=True, in_memory=True)(_compile("fp32"))
backend("pytorch-compile-cuda-bf16", "torch.compile'd sDAE and classifier on CUDA, whole chain in bfloat16",
        gpu=True, precision="bf16", in_memory=True)(_compile("bf16"))
backend("pytorch-compile-cuda-fp16", "torch.compile'd sDAE and classifier on CUDA, whole chain in float16",
        gpu=True, precision="fp16", in_memory=True)(_compile("fp16"))
