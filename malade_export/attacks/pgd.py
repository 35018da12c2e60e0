"""PGD-L-inf (Madry et al. 2018) with Expectation over Transformation for stochastic defences.

Against Malade the gradient flows through the whole unrolled chain; each forward draws fresh chain
noise, so ``eot=K`` averages the gradient over K draws (Athalye et al. 2018) instead of following
one noise sample.
"""
from __future__ import annotations

import torch

from ..errors import MaladeError
from .base import Attack, Model, register_attack
from .options import AttackOptions


@register_attack
class PGD(Attack):
    """``steps`` signed steps of size ``alpha``, projected onto the eps-ball around x and [0, 1]."""

    name = "pgd"
    title = "PGD"

    def __init__(self, model: Model, eps: float = 0.3, alpha: float = 0.01, steps: int = 100,
                 random_start: bool = True, eot: int = 1) -> None:
        super().__init__(model)
        if steps < 1 or eot < 1:
            raise MaladeError(f"pgd needs steps >= 1 and eot >= 1, got steps={steps}, eot={eot}")
        self.eps, self.alpha, self.steps, self.random_start, self.eot = eps, alpha, steps, random_start, eot

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> PGD:
        return cls(model, options.eps, options.pgd_alpha, options.pgd_steps, options.pgd_random_start, options.eot)

    def gradient(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = self.loss_gradient(x, y)
        for _ in range(self.eot - 1):
            total = total + self.loss_gradient(x, y)
        return total / self.eot

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        adv = x
        if self.random_start:
            adv = (x + torch.empty_like(x).uniform_(-self.eps, self.eps)).clamp(0.0, 1.0)
        for _ in range(self.steps):
            adv = adv + self.alpha * self.gradient(adv, y).sign()
            adv = (x + (adv - x).clamp(-self.eps, self.eps)).clamp(0.0, 1.0)
        return adv

    def describe(self) -> dict[str, object]:
        return {"attack": self.name, "eps": self.eps, "alpha": self.alpha, "steps": self.steps,
                "random_start": self.random_start, "eot": self.eot}
