"""Papernot et al. (2017) black-box attack: train a substitute on the defended model's answers,
then send FGSM examples crafted on the substitute.

The attacker sees only labels: it holds out a few test images (150 in the paper), labels them by
querying the *defended* model, trains substitute E, and grows its data with Jacobian augmentation
for ``rounds`` rounds: x + lambda_rho sign(d substitute_{O(x)}(x) / dx). As in cleverhans (which
Defense-GAN used), lambda_rho flips sign every 3 rounds so the new points do not all drift one way.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from ..data import ImageSet
from ..errors import MaladeError
from ..models import build_model
from ..train.loop import FitSettings, fit
from ..train.objectives import classifier_loss
from .base import Attack, Model, register_attack
from .fgsm import FGSM
from .options import AttackOptions, SubstituteSettings

LAMBDA_PERIOD = 3


@torch.no_grad()
def query_labels(oracle: Model, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The oracle's top-1 labels: all a black-box attacker observes."""
    return torch.cat([oracle(images[i: i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def jacobian_augment(substitute: nn.Module, images: torch.Tensor, labels: torch.Tensor, step: float) -> torch.Tensor:
    """New points x + step sign(d substitute(x)[label] / dx), clamped to [0, 1]."""
    x = images.detach().requires_grad_(True)
    with torch.enable_grad():
        chosen = substitute(x).gather(1, labels[:, None]).sum()
        (grad,) = torch.autograd.grad(chosen, x)
    return (images + step * grad.sign()).clamp(0.0, 1.0)


def train_substitute(oracle: Model, holdout: torch.Tensor, num_classes: int,
                     settings: SubstituteSettings = SubstituteSettings(),
                     progress: Callable[[str], None] = lambda _: None) -> tuple[nn.Module, int]:
    """Substitute trained on oracle labels; returns it and the size of its final training set."""
    if settings.rounds < 1:
        raise MaladeError(f"the substitute needs at least one training round, got {settings.rounds}")
    config = {"kind": "classifier", "arch": settings.arch, "input_shape": list(holdout.shape[1:]),
              "num_classes": num_classes}
    torch.manual_seed(settings.seed)
    substitute = build_model(config).to(holdout.device)
    images = holdout.detach()
    for rho in range(settings.rounds):
        labels = query_labels(oracle, images)
        data = ImageSet(images.cpu().numpy(), labels.cpu().numpy().astype(np.int64))
        fit(substitute, classifier_loss(substitute), data,
            FitSettings(settings.epochs, settings.batch_size, settings.lr, settings.seed + rho, holdout.device),
            validate=dict, log=lambda _: None, desc=f"substitute round {rho + 1}/{settings.rounds}")
        progress(f"substitute round {rho + 1}/{settings.rounds}: {len(images)} images")
        if rho < settings.rounds - 1:
            sign = -1.0 if (rho // LAMBDA_PERIOD) % 2 else 1.0
            images = torch.cat([images, jacobian_augment(substitute, images, labels, sign * settings.lmbda)])
    return substitute.eval(), len(images)


@register_attack
class BlackBox(Attack):
    """FGSM (eps 0.3) crafted on a substitute; build it with ``BlackBox.train``."""

    name = "blackbox"
    title = "black-box FGSM"
    white_box = False

    def __init__(self, substitute: nn.Module, eps: float = 0.3, settings: SubstituteSettings | None = None,
                 training_size: int | None = None) -> None:
        super().__init__(substitute)
        self.eps = eps
        self.settings = settings
        self.training_size = training_size

    @classmethod
    def train(cls, oracle: Model, holdout: torch.Tensor, num_classes: int, eps: float = 0.3,
              settings: SubstituteSettings = SubstituteSettings(),
              progress: Callable[[str], None] = lambda _: None) -> BlackBox:
        substitute, size = train_substitute(oracle, holdout, num_classes, settings, progress)
        return cls(substitute, eps, settings, size)

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> BlackBox:
        """``model`` is the real defence: it labels the held-out images the substitute learns from."""
        if holdout is None or len(holdout) == 0:
            raise MaladeError("the black-box attack needs held-out images to train its substitute")
        return cls.train(model, holdout, num_classes, options.eps, options.substitute)

    def at_eps(self, eps: float) -> BlackBox:
        """The same substitute aimed at another budget: what this attack at ``eps`` would have trained."""
        return BlackBox(self.model, eps, self.settings, self.training_size)

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return FGSM(self.model, self.eps).perturb(x, y)

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {"attack": self.name, "eps": self.eps, "substitute_training_size": self.training_size}
        if self.settings is not None:
            info["substitute"] = asdict(self.settings)
        return info
