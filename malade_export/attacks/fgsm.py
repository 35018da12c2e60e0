"""FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps."""
from __future__ import annotations

import torch

from .base import Attack, Model, register_attack
from .options import AttackOptions


@register_attack
class FGSM(Attack):
    """x~ = clip(x + eps sign grad_x J(x, y)); the paper's default eps = 0.3."""

    name = "fgsm"
    title = "FGSM"
    paper_white_box = True

    def __init__(self, model: Model, eps: float = 0.3) -> None:
        super().__init__(model)
        self.eps = eps

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> FGSM:
        return cls(model, options.eps)

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + self.eps * self.loss_gradient(x, y).sign()

    def describe(self) -> dict[str, object]:
        return {"attack": self.name, "eps": self.eps}
