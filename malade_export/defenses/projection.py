"""Defense-GAN's purifier: project x onto the generator's range by gradient descent on z.

x* = G(argmin_z ||G(z) - x||^2) with L steps of SGD (momentum 0.7, lr 10, x0.1 at step 160) from R
random restarts, keeping the best restart per image. Cost: L x R generator forward+backward passes
per image, which is why it needs autograd at inference time (and why it is slow).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ReconstructionSettings:
    steps: int = 200  # L
    restarts: int = 10  # R
    lr: float = 10.0
    momentum: float = 0.7
    decay_step: int = 160
    decay: float = 0.1


def reconstruct(generator: nn.Module, x: torch.Tensor, settings: ReconstructionSettings = ReconstructionSettings(),
                generator_rng: torch.Generator | None = None) -> torch.Tensor:
    """G(z*) for each image of ``x``; gradients flow to z only (the result is detached)."""
    batch, restarts = x.shape[0], settings.restarts
    latent = generator.latent_dim  # type: ignore[attr-defined]
    target = x.detach().repeat(restarts, 1, 1, 1)
    z = torch.randn(restarts * batch, latent, generator=generator_rng, device=x.device) / latent**0.5
    z.requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=settings.lr, momentum=settings.momentum)
    for step in range(settings.steps):
        if step == settings.decay_step:
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * settings.decay
        loss = ((generator(z) - target) ** 2).flatten(1).mean(1)
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()
    with torch.no_grad():
        images = generator(z)
        errors = ((images - target) ** 2).flatten(1).mean(1).reshape(restarts, batch)
        best = errors.argmin(0)
        images = images.reshape(restarts, batch, *x.shape[1:])
        return images[best, torch.arange(batch, device=x.device)]
