"""Evaluation metrics shared by training (validation) and the checkpoint's recorded results."""
from __future__ import annotations

import torch
from torch import nn

from ..data import ImageSet
from .loop import batches


@torch.no_grad()
def accuracy(classifier: nn.Module, data: ImageSet, device: torch.device | str = "cpu",
             transform: nn.Module | None = None, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``classifier`` on ``data`` (optionally on ``transform(x)``)."""
    correct = 0
    for images, labels in batches(data, batch_size, device):
        if transform is not None:
            images = transform(images)
        correct += int((classifier(images).argmax(1) == labels).sum())
    return correct / len(data)


@torch.no_grad()
def reconstruction_mse(dae: nn.Module, data: ImageSet, device: torch.device | str = "cpu",
                       batch_size: int = 500) -> float:
    """Mean per-pixel squared error of ``dae`` on clean images."""
    total = 0.0
    for images, _ in batches(data, batch_size, device):
        total += float(((dae(images) - images) ** 2).mean(dim=(1, 2, 3)).sum())
    return total / len(data)
