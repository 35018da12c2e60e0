"""Adapter from the shipped ``MaladeDefense`` chain to the ``Defense`` interface.

Malade, Mala and MagNet are the same chain with a different denoiser or schedule, so they share
this adapter and evaluation measures exactly the module that export ships.
"""
from __future__ import annotations

import torch

from ..defense import MaladeDefense
from .base import Defense


class ChainDefense(Defense):
    """Logits of the (unrolled, differentiable) Langevin chain; fresh noise on every call."""

    def __init__(self, chain: MaladeDefense) -> None:
        super().__init__(chain.classifier)
        self.chain = chain

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        return self.chain(x).purified

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not classify(purify(x)): with votes > 1 the chain averages probabilities over chains.
        return self.chain(x).logits

    def describe(self) -> dict[str, object]:
        return {"defense": self.name, **self.chain.describe()}
