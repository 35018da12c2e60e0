"""R+FGSM (Tramer et al. 2018): a random signed step first, to leave the gradient-masked point x."""
from __future__ import annotations

import torch

from .base import Attack, Model, register_attack
from .options import AttackOptions


@register_attack
class RFGSM(Attack):
    """x' = clip(x + alpha sign N(0, I)); x~ = clip(x' + (eps - alpha) sign grad_x' J(x', y))."""

    name = "rfgsm"
    title = "R+FGSM"
    paper_white_box = True

    def __init__(self, model: Model, eps: float = 0.3, alpha: float = 0.05) -> None:
        super().__init__(model)
        self.eps = eps
        self.alpha = alpha

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> RFGSM:
        return cls(model, options.eps, options.rfgsm_alpha)

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        start = (x + self.alpha * torch.randn_like(x).sign()).clamp(0.0, 1.0)
        return start + (self.eps - self.alpha) * self.loss_gradient(start, y).sign()

    def describe(self) -> dict[str, object]:
        return {"attack": self.name, "eps": self.eps, "alpha": self.alpha}
