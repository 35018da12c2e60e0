"""Mala: the same Langevin chain as Malade but with the unsupervised DAE (the paper's ablation)."""
from __future__ import annotations

from pathlib import Path

from ..errors import MaladeError
from ..loading import load_defense
from ..schedule import DEFAULT_SCHEDULE, Schedule
from .chain import ChainDefense


class Mala(ChainDefense):
    name = "mala"

    @classmethod
    def from_checkpoints(cls, classifier: str | Path, dae: str | Path, *, steps: int = 10,
                         schedule: Schedule = DEFAULT_SCHEDULE, clip: bool = True, votes: int = 1) -> "Mala":
        loaded = load_defense(classifier, dae, steps=steps, schedule=schedule, clip=clip, votes=votes)
        if loaded.dae.config["kind"] != "dae":
            raise MaladeError(f"mala needs an unsupervised DAE, but {loaded.dae.path} holds an sDAE "
                              "(use --defense malade)")
        return cls(loaded.defense)
