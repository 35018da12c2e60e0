"""FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps."""
from __future__ import annotations

import torch

from .base import Attack, Model


class FGSM(Attack):
    """x~ = clip(x + eps sign grad_x J(x, y)); the paper's default eps = 0.3."""

    name = "fgsm"

    def __init__(self, model: Model, eps: float = 0.3) -> None:
        super().__init__(model)
        self.eps = eps

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + self.eps * self.loss_gradient(x, y).sign()

    def describe(self) -> dict[str, object]:
        return {"attack": self.name, "eps": self.eps}
