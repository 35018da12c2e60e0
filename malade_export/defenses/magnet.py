"""MagNet's reformer: classify r(x), i.e. the chain with one noiseless full step (alpha = sigma^2)."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from ..chain import MaladeDefense, load_defense
from ..schedule import magnet_schedule
from .chain import ChainDefense


class MagNet(ChainDefense):
    name = "magnet"

    @classmethod
    def from_models(cls, classifier: nn.Module, dae: nn.Module, sigma: float,
                    input_shape: tuple[int, int, int]) -> "MagNet":
        return cls(MaladeDefense(classifier, dae, sigma, input_shape, steps=1, schedule=magnet_schedule(sigma)))

    @classmethod
    def from_checkpoints(cls, classifier: str | Path, dae: str | Path) -> "MagNet":
        """Accepts a DAE (the paper's MagNet) or an sDAE."""
        loaded = load_defense(classifier, dae, magnet=True)
        return cls(loaded.defense, loaded)
