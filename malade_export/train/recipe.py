"""Optimiser and learning-rate schedule of a training run.

The default (Adam at a constant rate) is the paper's recipe for the 28 x 28 grey models; the
colour classifiers train in few epochs only with SGD-Nesterov, weight decay and a one-cycle or
cosine schedule, which the ``Recipe`` fields select.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

OPTIMIZERS = ("adam", "sgd-nesterov")
SCHEDULES = ("constant", "onecycle", "cosine")


@dataclass(frozen=True)
class Recipe:
    """How to step: ``optimizer`` and its ``momentum``/``weight_decay``; ``schedule`` of the rate over all steps.

    ``onecycle`` rises linearly from lr/10 to lr over the first ``warmup`` fraction of the steps,
    then falls linearly to 0; ``cosine`` warms up the same way, then follows a half cosine to 0.
    """

    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup: float = 0.2
    label_smoothing: float = 0.0

    def as_dict(self) -> dict[str, float | str]:
        return dict(self.__dict__)


def _decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only: decaying BN scales and biases only slows training."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, recipe: Recipe, lr: float) -> torch.optim.Optimizer:
    if recipe.optimizer == "adam":
        params = [p for p in model.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd-nesterov":
        return torch.optim.SGD(_decay_groups(model, recipe.weight_decay), lr=lr, momentum=recipe.momentum,
                               nesterov=True)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


def lr_factor(recipe: Recipe, step: int, total: int) -> float:
    """Multiplier of the base rate at ``step`` (0-based) of ``total``."""
    if recipe.schedule == "constant":
        return 1.0
    if recipe.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {recipe.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    warm = max(1, round(recipe.warmup * total))
    if step < warm:
        return 0.1 + 0.9 * step / warm
    progress = (step - warm) / max(1, total - warm)
    if recipe.schedule == "onecycle":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(recipe, step, total_steps))
