"""torchattacks-style attacks: ``atk = FGSM(model, eps=0.3); x_adv = atk(x, y)``.

``model`` is any callable mapping images [B, C, H, W] in [0, 1] to logits: a bare classifier, a
``Defense`` (stochastic defences draw fresh noise on each call, so gradients are single samples
unless the attack averages them), or a ``BPDA`` wrapper. Outputs are always clamped to [0, 1].
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
import torch.nn.functional as F

from ..errors import MaladeError
from ..registry import Registry
from .options import AttackOptions

Model = Callable[[torch.Tensor], torch.Tensor]
NO_ATTACK = "none"  # clean accuracy only


class Attack:
    name = "attack"
    title = "attack"  # as the tables print it
    white_box = True  # needs the model's gradient (BPDA stands in where the defence has none)
    paper_white_box = False  # one of the paper's Table 2 columns

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> Attack:
        """The attack on ``model`` with its knobs from ``options`` (black-box ones also use ``holdout``)."""
        raise NotImplementedError

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


ATTACKS: Registry[type[Attack]] = Registry("attack")
A = TypeVar("A", bound=type[Attack])


def register_attack(cls: A) -> A:
    """Class decorator: the attack becomes a choice of ``malade eval --attack`` under its ``name``."""
    ATTACKS.register(cls.name)(cls)
    return cls
