"""The one interface attacks and evaluation see: a defended classifier mapping images to logits.

Every defence is "purify, then classify". Keeping the two halves separate lets BPDA replace the
purifier's backward pass with the identity while the forward pass stays exactly what ships.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from ..chain import ChainSettings
from ..checkpoint import Checkpoint
from ..errors import MaladeError
from ..registry import Registry
from .projection import ReconstructionSettings


@dataclass(frozen=True)
class DefenseSources:
    """The checkpoint files a defence is built from; which of them it needs is its own business."""

    classifier: str | Path | Checkpoint  # a path, or a classifier already loaded from any source
    denoiser: str | Path | None = None  # sDAE or DAE (the Langevin-chain defences)
    generator: str | Path | None = None  # WGAN generator (Defense-GAN)


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

    @classmethod
    def build(cls, sources: DefenseSources, chain: ChainSettings, projection: ReconstructionSettings) -> Defense:
        """Build from checkpoint files, taking from a run's chain and projection settings what this defence uses."""
        raise NotImplementedError

    @classmethod
    def from_sources(cls, sources: DefenseSources, options: dict[str, Any]) -> Defense:
        """``build`` with the defence's own settings as keyword options (``build_defense``); a defence that
        has none refuses any."""
        no_options(cls.name, options)
        return cls.build(sources, ChainSettings(), ReconstructionSettings())


def no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise MaladeError(f"defence {name} takes no options, got {', '.join(sorted(options))}")


DEFENSES: Registry[type[Defense]] = Registry("defence")
D = TypeVar("D", bound=type[Defense])


def register_defense(cls: D) -> D:
    """Class decorator: the defence becomes a choice of ``malade eval --defense`` and a tables column."""
    DEFENSES.register(cls.name)(cls)
    return cls
