"""Defense-GAN baseline: classify G(z*), the closest image the WGAN generator can produce (see projection.py).

The projection is an inner optimisation over z whose result is detached, so the defence has no
useful input gradient (Defense-GAN's own code had the same vanishing-gradient problem, its issues #1
and #14). White-box attacks on it therefore use BPDA (identity backward through the projection);
``differentiable = False`` makes the evaluation apply BPDA automatically.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..chain import ChainSettings
from ..checkpoint import Checkpoint, load_checkpoint
from ..classifier_sources import load_classifier
from ..errors import MaladeError
from .base import Defense, DefenseSources, register_defense
from .projection import ReconstructionSettings, reconstruct


@register_defense
class DefenseGAN(Defense):
    name = "defensegan"
    differentiable = False

    def __init__(self, classifier: nn.Module, generator: nn.Module,
                 settings: ReconstructionSettings = ReconstructionSettings(),
                 rng: torch.Generator | None = None) -> None:
        super().__init__(classifier)
        self.generator = generator.eval()
        for param in self.generator.parameters():
            param.requires_grad_(False)
        self.settings = settings
        self.rng = rng  # draws the restarts' starting z; None = torch's global generator

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():  # the projection optimises z even when the caller is in no_grad
            return reconstruct(self.generator, x, self.settings, generator_rng=self.rng)

    def describe(self) -> dict[str, object]:
        return {"defense": self.name, **asdict(self.settings)}

    @classmethod
    def from_checkpoints(cls, classifier: str | Path | Checkpoint, generator: str | Path,
                         settings: ReconstructionSettings = ReconstructionSettings()) -> DefenseGAN:
        clf = load_classifier(classifier)
        gen = load_checkpoint(generator, "generator")
        if clf.config["input_shape"] != gen.config["input_shape"]:
            raise MaladeError(f"classifier {clf.path.name} takes {clf.config['input_shape']} but generator "
                              f"{gen.path.name} makes {gen.config['input_shape']}")
        return cls(clf.model, gen.model, settings)

    @classmethod
    def build(cls, sources: DefenseSources, chain: ChainSettings, projection: ReconstructionSettings) -> DefenseGAN:
        if sources.generator is None:
            raise MaladeError("defence defensegan needs a generator checkpoint (train one with `malade train-gan`)")
        return cls.from_checkpoints(sources.classifier, sources.generator, projection)

    @classmethod
    def from_sources(cls, sources: DefenseSources, options: dict[str, Any]) -> DefenseGAN:
        """``options``: steps, restarts, lr, ... as in ``ReconstructionSettings``."""
        if sources.generator is None:
            raise MaladeError("defence defensegan needs a generator checkpoint (train one with `malade train-gan`)")
        try:
            projection = ReconstructionSettings(**options)
        except TypeError as exc:
            raise MaladeError(f"bad defensegan option: {exc}") from None
        return cls.build(sources, ChainSettings(), projection)
