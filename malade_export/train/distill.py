"""Distil a trained sDAE into a cheaper one by matching its output where the Langevin chain goes.

Why: the chain only ever uses r(x) - x, and it uses it off the data manifold (adversarial inputs
plus chain noise, partly relaxed). A narrow sDAE trained from scratch on the paper's objective
learns r well on x + N(0, sigma^2) but pulls adversarial inputs back less (results/faster_sdae).
Matching the wide teacher on the states the chain visits was meant to transfer what it learned
there. Measured on Fashion-MNIST it closes only part of the robustness gap (results/faster_sdae),
so a student must be evaluated before it replaces its teacher.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .loop import LossFn

MAX_EPS = 0.4  # L-inf budget of the perturbed inputs: the paper's largest epsilon


def _perturb(images: torch.Tensor, labels: torch.Tensor, classifier: nn.Module) -> torch.Tensor:
    """Per sample: FGSM on ``classifier`` (half), random signs (a quarter) or none (a quarter), eps ~ U(0, MAX_EPS)."""
    n = len(images)
    with torch.enable_grad():
        probe = images.clone().requires_grad_(True)
        loss = F.cross_entropy(classifier(probe), labels)
        (grad,) = torch.autograd.grad(loss, probe)
    direction = grad.sign()
    kind = torch.rand(n, 1, 1, 1, device=images.device)
    direction = torch.where(kind < 0.5, direction, torch.randint_like(direction, 2) * 2 - 1)
    eps = torch.where(kind < 0.75, torch.rand_like(kind) * MAX_EPS, torch.zeros_like(kind))
    return (images + eps * direction).clamp(0, 1)


def chain_states(images: torch.Tensor, labels: torch.Tensor, teacher: nn.Module, classifier: nn.Module,
                 sigma: float) -> torch.Tensor:
    """Inputs like those the chain feeds r: perturbed, partly relaxed towards the teacher, plus noise."""
    with torch.no_grad():
        start = _perturb(images, labels, classifier)
        shape = (len(images), 1, 1, 1)
        relax = torch.rand(shape, device=images.device)
        states = start + relax * (teacher(start) - start)
        noise_std = torch.rand(shape, device=images.device) * sigma
        return (states + noise_std * torch.randn_like(states)).clamp(0, 1)


def distill_loss(student: nn.Module, teacher: nn.Module, classifier: nn.Module, sigma: float,
                 kl_weight: float = 0.0) -> LossFn:
    """E ||s(z) - t(z)||^2 summed over pixels [+ w KL(c(t(z)) || c(s(z)))], z drawn by ``chain_states``.

    The KL term asks the classifier to see the same thing in both reconstructions: pixel error
    alone leaves the small class-relevant part of r(z) - z to chance, and the chain amplifies it.
    """

    def loss(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        states = chain_states(images, labels, teacher, classifier, sigma)
        with torch.no_grad():
            target = teacher(states)
        recon = student(states)
        value = ((recon - target) ** 2).flatten(1).sum(1).mean()
        if kl_weight:
            with torch.no_grad():
                target_log_p = F.log_softmax(classifier(target), 1)
            log_p = F.log_softmax(classifier(recon), 1)
            value = value + kl_weight * F.kl_div(log_p, target_log_p, log_target=True, reduction="batchmean")
        return value

    return loss


@torch.no_grad()
def distill_gap(student: nn.Module, teacher: nn.Module, classifier: nn.Module, images: torch.Tensor,
                labels: torch.Tensor, sigma: float, seed: int = 0) -> float:
    """Mean per-pixel squared student-teacher gap on a fixed draw of chain states (validation)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    states = chain_states(images, labels, teacher, classifier, sigma)
    torch.random.set_rng_state(generator_state)
    return float(((student(states) - teacher(states)) ** 2).mean())
