"""Defense-GAN baseline: classify G(z*), the closest image the WGAN generator can produce.

x* = G(argmin_z ||G(z) - x||^2) with L steps of SGD (momentum 0.7, lr 10, x0.1 at step 160) from R
random restarts, keeping the best restart per image. Cost: L x R generator forward+backward passes
per image, which is why it needs autograd at inference time (and why it is slow).

The projection is an inner optimisation over z whose result is detached, so the defence has no
useful input gradient (Defense-GAN's own code had the same vanishing-gradient problem, its issues #1
and #14). White-box attacks on it therefore use BPDA (identity backward through the projection);
``differentiable = False`` makes the evaluation apply BPDA automatically.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import Checkpoint, load_checkpoint
from ..classifier_sources import load_classifier
from ..errors import MaladeError
from .base import Defense


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


class DefenseGAN(Defense):
    name = "defensegan"
    differentiable = False

    def __init__(self, classifier: nn.Module, generator: nn.Module,
                 settings: ReconstructionSettings = ReconstructionSettings(),
                 rng: torch.Generator | None = None) -> None:
        super().__init__(classifier)
        self.generator = generator.eval()
        for param in self.generator.parameters():
            param.requires_grad_(False)
        self.settings = settings
        self.rng = rng  # draws the restarts' starting z; None = torch's global generator

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():  # the projection optimises z even when the caller is in no_grad
            return reconstruct(self.generator, x, self.settings, generator_rng=self.rng)

    def describe(self) -> dict[str, object]:
        return {"defense": self.name, **asdict(self.settings)}

    @classmethod
    def from_checkpoints(cls, classifier: str | Path | Checkpoint, generator: str | Path,
                         settings: ReconstructionSettings = ReconstructionSettings()) -> "DefenseGAN":
        clf = load_classifier(classifier)
        gen = load_checkpoint(generator, "generator")
        if clf.config["input_shape"] != gen.config["input_shape"]:
            raise MaladeError(f"classifier {clf.path.name} takes {clf.config['input_shape']} but generator "
                              f"{gen.path.name} makes {gen.config['input_shape']}")
        return cls(clf.model, gen.model, settings)
