"""Training objectives of the paper: classifier cross-entropy, DAE (Eq. 5) and sDAE (Eq. 8)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .loop import LossFn


def classifier_loss(classifier: nn.Module, label_smoothing: float = 0.0) -> LossFn:
    return lambda images, labels: F.cross_entropy(classifier(images), labels, label_smoothing=label_smoothing)


def class_balance_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Weights so every class contributes equally to the cross-entropy, whatever its count."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def dae_loss(dae: nn.Module, sigma: float, classifier: nn.Module | None = None,
             class_weights: torch.Tensor | None = None, ce_weight: float | None = None) -> LossFn:
    """E||r(x+v) - x||^2 (summed over pixels) [ - w log p(y | r(x+v)) when supervised ].

    With a frozen ``classifier`` this is the sDAE objective (Eq. 8, w = 2 sigma^2 unless
    ``ce_weight`` overrides it); without it, the plain DAE.
    """
    weight_ce = 2 * sigma**2 if ce_weight is None else ce_weight

    def loss(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        noisy = images + sigma * torch.randn_like(images)
        recon = dae(noisy)
        value = ((recon - images) ** 2).flatten(1).sum(1).mean()
        if classifier is not None:
            weight = class_weights.to(images.device) if class_weights is not None else None
            value = value + weight_ce * F.cross_entropy(classifier(recon), labels, weight=weight)
        return value

    return loss
