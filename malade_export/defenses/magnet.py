"""MagNet's reformer: classify r(x), i.e. the chain with one noiseless full step (alpha = sigma^2)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ..chain import ChainSettings, MaladeDefense, load_defense
from ..errors import MaladeError
from ..schedule import magnet_schedule
from .base import DefenseSources, no_options, register_defense
from .chain import ChainDefense
from .projection import ReconstructionSettings


@register_defense
class MagNet(ChainDefense):
    name = "magnet"

    @classmethod
    def from_models(cls, classifier: nn.Module, dae: nn.Module, sigma: float,
                    input_shape: tuple[int, int, int]) -> MagNet:
        return cls(MaladeDefense(classifier, dae, sigma, input_shape, steps=1, schedule=magnet_schedule(sigma)))

    @classmethod
    def from_checkpoints(cls, classifier: str | Path, dae: str | Path) -> MagNet:  # type: ignore[override]
        """Accepts a DAE (the paper's MagNet) or an sDAE."""
        loaded = load_defense(classifier, dae, magnet=True)
        return cls(loaded.defense, loaded)

    @classmethod
    def build(cls, sources: DefenseSources, chain: ChainSettings, projection: ReconstructionSettings) -> MagNet:
        """Always one noiseless full step: the chain settings do not apply."""
        if sources.denoiser is None:
            raise MaladeError(f"defence {cls.name} needs a DAE checkpoint")
        return cls.from_checkpoints(sources.classifier, sources.denoiser)

    @classmethod
    def from_sources(cls, sources: DefenseSources, options: dict[str, Any]) -> MagNet:
        if sources.denoiser is None:
            raise MaladeError(f"defence {cls.name} needs a DAE checkpoint")
        no_options(cls.name, options)
        return cls.build(sources, ChainSettings(), ReconstructionSettings())
