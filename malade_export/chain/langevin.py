"""MaladeDefense: the one definition of the Langevin purification chain + classifier.

Export, evaluation, attacks and benchmarks all run this module, so what is measured is what ships.
The Langevin loop is unrolled over ``steps`` with per-step Python constants (alpha_t / sigma^2 and
delta_t), which is what lets it trace into a single static ONNX / TorchScript graph.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MaladeError
from ..schedule import DEFAULT_SCHEDULE, Schedule

MAX_STEPS = 1000
MAX_VOTES = 64


class DefenseOutput(NamedTuple):
    logits: torch.Tensor  # [B, K] (with votes: log of the mean probability over chains)
    purified: torch.Tensor  # [B, C, H, W] (with votes: the first chain's end point)
    score: torch.Tensor  # [B] off-manifold score ||r(x0) - x0||


def check_chain_size(steps: int, votes: int) -> None:
    """Steps and votes size every buffer of the chain: refuse absurd ones before anything is loaded."""
    if not 1 <= steps <= MAX_STEPS:
        raise MaladeError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    if not 1 <= votes <= MAX_VOTES:
        raise MaladeError(f"votes must be between 1 and {MAX_VOTES}, got {votes}")


class MaladeDefense(nn.Module):
    """x <- clip(x + alpha_t (r(x) - x) / sigma^2 + delta_t eps_t) for N steps, then classify.

    With the sDAE this is Malade, with the unsupervised DAE it is Mala, and with N = 1,
    alpha = sigma^2, delta = 0 it is MagNet (x_1 = r(x_0)).
    """

    def __init__(self, classifier: nn.Module, dae: nn.Module, sigma: float, input_shape: tuple[int, int, int],
                 steps: int = 10, schedule: Schedule = DEFAULT_SCHEDULE, clip: bool = True, votes: int = 1) -> None:
        super().__init__()
        check_chain_size(steps, votes)
        if sigma <= 0:
            raise MaladeError(f"sigma must be > 0, got {sigma}")
        self.classifier = classifier.eval()
        self.dae = dae.eval()
        self.sigma = float(sigma)
        self.input_shape = tuple(int(n) for n in input_shape)
        self.steps = steps
        self.schedule = schedule
        self.clip = clip
        self.votes = votes
        self.drift = [a / self.sigma**2 for a in schedule.alphas(steps)]
        self.deltas = schedule.deltas(steps)
        # delta_t as a buffer, not a tensor made in forward: a traced file then holds no CPU-pinned constant,
        # so TorchScript's map_location (and .to / .cuda) moves it with the weights
        self.register_buffer("kick_scale", torch.tensor(self.deltas, dtype=torch.float32).view(
            -1, *([1] * (1 + len(self.input_shape)))), persistent=False)

    def noise_shape(self, batch: int) -> tuple[int, ...]:
        return (self.steps, self.votes * batch, *self.input_shape)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> DefenseOutput:
        """Purify and classify ``x`` [B, C, H, W]; ``noise`` [N, votes*B, C, H, W] or fresh N(0, I)."""
        if noise is None:
            noise = torch.randn(self.noise_shape(x.shape[0]), dtype=x.dtype, device=x.device)
        recon0 = self.dae(x)
        score = (recon0 - x).flatten(1).norm(dim=1)
        if self.votes > 1:
            x, recon0 = x.repeat(self.votes, 1, 1, 1), recon0.repeat(self.votes, 1, 1, 1)
        # delta_t eps_t for all steps in one multiply: one graph operator instead of N, same numbers
        kicks = noise * self.kick_scale.to(noise.dtype)
        for t in range(self.steps):
            recon = recon0 if t == 0 else self.dae(x)
            x = x + self.drift[t] * (recon - x)
            if self.deltas[t] != 0.0:
                x = x + kicks[t]
            if self.clip:
                x = x.clamp(0.0, 1.0)
        logits = self.classifier(x)
        if self.votes > 1:
            probs = F.softmax(logits, dim=1).reshape(self.votes, -1, logits.shape[1]).mean(0)
            return DefenseOutput(torch.log(probs), x[: probs.shape[0]], score)
        return DefenseOutput(logits, x, score)

    def describe(self) -> dict[str, object]:
        """Everything that determines the chain, for export metadata and result files."""
        return {
            "steps": self.steps, "sigma": self.sigma, "clip": self.clip, "votes": self.votes,
            "schedule": self.schedule.to_dict(), "alphas": self.schedule.alphas(self.steps),
            "deltas": list(self.deltas), "input_shape": list(self.input_shape),
        }
