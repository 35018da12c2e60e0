"""Defense-GAN's latency: L gradient steps on z from R restarts, then classify (PyTorch eager + autograd).

It cannot be exported as a static inference graph (it optimises z at inference time), so eager
PyTorch (on the CPU or on CUDA) is its only backend. Its cost is linear in L, so long settings may be
measured with fewer steps and scaled by the count of generator passes, (2L + 1) / (2L_measured + 1); rows say so.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Callable

import torch
from torch import nn

from ..defensegan import ReconstructionSettings, reconstruct
from ..models.gan import Generator

DEVICE_BACKENDS = {"cpu": "pytorch-eager+autograd", "cuda": "pytorch-cuda+autograd"}  # the rows' "backend"
AUTOGRAD_NOTE = ("Defense-GAN needs autograd at inference (L x R generator forward + backward passes per image), "
                 "so it runs in PyTorch eager only; it cannot be exported to ONNX/TorchScript/TensorRT as a static graph")


def frozen_generator(channels: int) -> Generator:
    """An untrained generator of the right architecture with frozen weights, as a loaded checkpoint would be.

    Latency does not depend on the weights; freezing them keeps the backward pass to z only.
    """
    generator = Generator(channels).eval()
    for param in generator.parameters():
        param.requires_grad_(False)
    return generator


def measured_steps(settings: ReconstructionSettings, measure_steps: int) -> tuple[int, float]:
    """The steps actually run, min(L, measure_steps), and the factor (generator passes of L over those of
    the measured steps) that scales their times up to L."""
    measured = min(settings.steps, measure_steps)
    return measured, (2 * settings.steps + 1) / (2 * measured + 1)


def defensegan_runner(generator: nn.Module, classifier: nn.Module, input_shape: tuple[int, int, int], batch: int,
                      settings: ReconstructionSettings, measure_steps: int,
                      device: str = "cpu") -> tuple[Callable[[], object], int, float]:
    """A timed call for ``settings`` run at ``measured_steps`` steps on ``device``, the steps it runs, and
    the factor that scales its times up to L. On CUDA the call waits for the GPU before returning."""
    measured, scale = measured_steps(settings, measure_steps)
    run_settings = replace(settings, steps=measured)
    gen = torch.Generator().manual_seed(batch)
    x = torch.rand(batch, *input_shape, generator=gen).to(device)
    if device != "cpu":
        generator, classifier = copy.deepcopy(generator).to(device), copy.deepcopy(classifier).to(device)
    rng = torch.Generator(device=device).manual_seed(0)
    wait = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def run() -> torch.Tensor:
        purified = reconstruct(generator, x, run_settings, generator_rng=rng)
        with torch.no_grad():
            logits = classifier(purified)
        wait()
        return logits

    return run, measured, scale
