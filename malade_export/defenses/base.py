"""The one interface attacks and evaluation see: a defended classifier mapping images to logits.

Every defence is "purify, then classify". Keeping the two halves separate lets BPDA replace the
purifier's backward pass with the identity while the forward pass stays exactly what ships.
"""
from __future__ import annotations

import torch
from torch import nn


class Defense(nn.Module):
    """``forward(x) -> logits`` [B, K] for images x [B, C, H, W] in [0, 1].

    Stochastic defences draw fresh randomness on every call (from torch's global generator, so a
    caller that seeds it gets a reproducible run). ``differentiable`` is False when the purifier
    cuts the graph (Defense-GAN): white-box attacks must then go through BPDA.
    """

    name = "defense"
    differentiable = True

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier.eval()

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        """The image the classifier actually sees."""
        return x

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.purify(x))

    def describe(self) -> dict[str, object]:
        """Settings that determine the defence, for result files."""
        return {"defense": self.name}
