"""torchattacks-style attacks: ``atk = FGSM(model, eps=0.3); x_adv = atk(x, y)``.

``model`` is any callable mapping images [B, C, H, W] in [0, 1] to logits: a bare classifier, a
``Defense`` (stochastic defences draw fresh noise on each call, so gradients are single samples
unless the attack averages them), or a ``BPDA`` wrapper. Outputs are always clamped to [0, 1].
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import MaladeError

Model = Callable[[torch.Tensor], torch.Tensor]


class Attack:
    name = "attack"

    def __init__(self, model: Model) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.perturb(x.detach(), y.detach()).clamp(0.0, 1.0).detach()

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The adversarial images (before the final clamp)."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """Settings that determine the attack, for result files."""
        return {"attack": self.name}

    def loss_gradient(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """d CE(model(x), y) / dx, summed (not averaged) over the batch so no sample is rescaled."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(self.model(x), y, reduction="sum")
            (grad,) = torch.autograd.grad(loss, x, allow_unused=True) if loss.requires_grad else (None,)
        if grad is None:
            raise MaladeError(f"{self.name}: the model's output has no gradient with respect to its input "
                              "(a non-differentiable defence such as Defense-GAN needs BPDA)")
        return grad
