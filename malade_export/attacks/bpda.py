"""BPDA (Athalye et al. 2018): run the real purifier forward, treat it as the identity backward.

This is how a white-box attacker gets useful gradients through a purifier that has none
(Defense-GAN's detached projection) or whose gradient is obfuscated; wrap the defence and hand it
to any attack: ``PGD(BPDA(defense), eps=0.3)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..defenses.base import Defense


def straight_through(x: torch.Tensor, purified: torch.Tensor) -> torch.Tensor:
    """Equals ``purified`` in value; its gradient with respect to ``x`` is the identity."""
    return x + (purified - x).detach()


class BPDA(nn.Module):
    """Logits ``classify(purify(x))``; backward skips ``purify``.

    With a multi-vote Malade chain the forward uses the first chain only, as ``purify`` does.
    """

    def __init__(self, defense: Defense) -> None:
        super().__init__()
        self.defense = defense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            purified = self.defense.purify(x)
        return self.defense.classify(straight_through(x, purified))
