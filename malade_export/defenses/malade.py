"""Malade: the Langevin chain driven by the classifier-supervised sDAE (the paper's method)."""
from __future__ import annotations

from pathlib import Path

from ..errors import MaladeError
from ..loading import load_defense
from ..schedule import DEFAULT_SCHEDULE, Schedule
from .chain import ChainDefense


class Malade(ChainDefense):
    name = "malade"

    @classmethod
    def from_checkpoints(cls, classifier: str | Path, sdae: str | Path, *, steps: int = 10,
                         schedule: Schedule = DEFAULT_SCHEDULE, clip: bool = True, votes: int = 1) -> "Malade":
        loaded = load_defense(classifier, sdae, steps=steps, schedule=schedule, clip=clip, votes=votes)
        if loaded.dae.config["kind"] != "sdae":
            raise MaladeError(f"malade needs an sDAE, but {loaded.dae.path} holds a plain DAE (use --defense mala)")
        return cls(loaded.defense)
