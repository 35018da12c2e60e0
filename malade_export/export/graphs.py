"""The exportable graphs: a MaladeDefense with its noise either fed in or made from seeds."""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..chain import DefenseOutput, MaladeDefense
from ..noise.torch_ops import seeded_noise_torch
from .rewrites import for_target

NOISE_MODES = ("input", "seed")
INPUT_NAMES = {"input": ["x", "noise"], "seed": ["x", "seed"]}
OUTPUT_NAMES = ["logits", "purified", "score"]


class NoiseInputGraph(nn.Module):
    """Inputs ``x`` [B, C, H, W] and ``noise`` [N, votes*B, C, H, W]: portable to every runtime."""

    def __init__(self, defense: MaladeDefense) -> None:
        super().__init__()
        self.defense = defense

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> DefenseOutput:
        return self.defense(x, noise)


class SeedGraph(nn.Module):
    """Inputs ``x`` and ``seed`` int64 [B]: the graph makes its own counter-based Gaussian noise.

    Traced as is for TorchScript. The ONNX seed file is the noise-input graph with the
    generator's own uint64 nodes in front (``noise.onnx_ops``); this module is its reference.
    """

    def __init__(self, defense: MaladeDefense) -> None:
        super().__init__()
        self.defense = defense

    def forward(self, x: torch.Tensor, seed: torch.Tensor) -> DefenseOutput:
        d = self.defense
        noise = seeded_noise_torch(seed, d.steps, d.input_shape, d.votes)
        return d(x, noise)


class HalfPrecision(nn.Module):
    """Run a graph in float16 behind float32 inputs and outputs (for fp16 TensorRT / CUDA)."""

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.graph = copy.deepcopy(graph).half()  # never convert the caller's model in place

    def forward(self, x: torch.Tensor, extra: torch.Tensor) -> tuple[torch.Tensor, ...]:
        extra = extra.half() if extra.is_floating_point() else extra
        outputs = self.graph(x.half(), extra)
        return tuple(o.float() for o in outputs)


def build_graph(defense: MaladeDefense, noise_mode: str, dtype: str = "fp32", target: str | None = None) -> nn.Module:
    """The module to trace: ``defense`` as trained, or with its denoiser spelled for ``target`` (rewrites.py)."""
    if target is not None:
        defense = copy.deepcopy(defense)  # the caller's chain stays as it is
        defense.dae = for_target(defense.dae, target)
    graph: nn.Module = NoiseInputGraph(defense) if noise_mode == "input" else SeedGraph(defense)
    return HalfPrecision(graph) if dtype == "fp16" else graph.eval()


def example_inputs(defense: MaladeDefense, noise_mode: str, batch: int,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic example inputs (for tracing and verification)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, *defense.input_shape, generator=gen)
    if noise_mode == "input":
        return x, torch.randn(defense.noise_shape(batch), generator=gen)
    return x, torch.randint(0, 2**62, (batch,), generator=gen, dtype=torch.int64)
