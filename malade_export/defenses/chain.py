"""Adapter from the shipped ``MaladeDefense`` chain to the ``Defense`` interface.

Malade, Mala and MagNet are the same chain with a different denoiser or schedule, so they share
this adapter and evaluation measures exactly the module that export ships.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..chain.build import ChainSettings, LoadedDefense, load_defense
from ..chain.langevin import MaladeDefense
from ..errors import MaladeError
from ..schedule import Schedule
from .base import Defense, DefenseSources
from .projection import ReconstructionSettings


class ChainDefense(Defense):
    """Logits of the (unrolled, differentiable) Langevin chain; fresh noise on every call."""

    denoiser_kind = ""  # the checkpoint kind a subclass insists on ("sdae" or "dae")
    wrong_denoiser_hint = ""

    def __init__(self, chain: MaladeDefense, source: LoadedDefense | None = None) -> None:
        super().__init__(chain.classifier)
        self.chain = chain
        self.source = source  # the checkpoints it came from, when it did (export needs them)

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        return self.chain(x).purified

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not classify(purify(x)): with votes > 1 the chain averages probabilities over chains.
        return self.chain(x).logits

    def describe(self) -> dict[str, object]:
        return {"defense": self.name, **self.chain.describe()}

    @classmethod
    def from_checkpoints(cls, classifier: str | Path, denoiser: str | Path, *, steps: int = 10,
                         schedule: Schedule | None = None, clip: bool = True, votes: int = 1) -> ChainDefense:
        loaded = load_defense(classifier, denoiser, steps=steps, schedule=schedule, clip=clip, votes=votes)
        if loaded.dae.config["kind"] != cls.denoiser_kind:
            raise MaladeError(f"{cls.name} needs {cls.wrong_denoiser_hint}, but {loaded.dae.path} holds a "
                              f"{loaded.dae.config['kind']!r} checkpoint")
        return cls(loaded.defense, loaded)

    @classmethod
    def build(cls, sources: DefenseSources, chain: ChainSettings, projection: ReconstructionSettings) -> ChainDefense:
        if sources.denoiser is None:
            raise MaladeError(f"defence {cls.name} needs a {'sDAE' if cls.denoiser_kind == 'sdae' else 'DAE'} "
                              "checkpoint")
        return cls.from_checkpoints(sources.classifier, sources.denoiser, steps=chain.steps, schedule=chain.schedule,
                                    clip=chain.clip, votes=chain.votes)

    @classmethod
    def from_sources(cls, sources: DefenseSources, options: dict[str, Any]) -> ChainDefense:
        """``options``: steps, schedule, clip, votes (``ChainSettings``)."""
        try:
            chain = ChainSettings(**options)
        except TypeError as exc:
            raise MaladeError(f"bad {cls.name} option: {exc}") from None
        return cls.build(sources, chain, ReconstructionSettings())
