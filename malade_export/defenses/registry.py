"""Build any defence by name from checkpoint paths: the single entry point of the CLI and scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint
from ..classifier_sources import load_classifier
from ..errors import MaladeError
from .base import Defense
from .defensegan import DefenseGAN, ReconstructionSettings
from .magnet import MagNet
from .mala import Mala
from .malade import Malade
from .none import NoDefense

DEFENSES = ("none", "magnet", "mala", "malade", "defensegan")

CheckpointPath = str | Path
Classifier = CheckpointPath | Checkpoint  # a path, or a classifier already loaded from any source


def build_defense(name: str, classifier_ckpt: Classifier, dae_ckpt: CheckpointPath | None = None,
                  generator_ckpt: CheckpointPath | None = None, **options: Any) -> Defense:
    """``options``: steps, schedule, clip, votes (mala, malade); steps, restarts, lr, ... (defensegan,
    as in ``ReconstructionSettings``)."""
    if name not in DEFENSES:
        raise MaladeError(f"unknown defence {name!r}; choose one of {', '.join(DEFENSES)}")
    if name == "none":
        _no_options(name, options)
        return NoDefense(load_classifier(classifier_ckpt).model)
    if name == "defensegan":
        if generator_ckpt is None:
            raise MaladeError("defence defensegan needs a generator checkpoint (train one with `malade train-gan`)")
        try:
            settings = ReconstructionSettings(**options)
        except TypeError as exc:
            raise MaladeError(f"bad defensegan option: {exc}") from None
        return DefenseGAN.from_checkpoints(classifier_ckpt, generator_ckpt, settings)
    if dae_ckpt is None:
        raise MaladeError(f"defence {name} needs a {'sDAE' if name == 'malade' else 'DAE'} checkpoint")
    if name == "magnet":
        _no_options(name, options)
        return MagNet.from_checkpoints(classifier_ckpt, dae_ckpt)
    try:
        return (Malade if name == "malade" else Mala).from_checkpoints(classifier_ckpt, dae_ckpt, **options)
    except TypeError as exc:
        raise MaladeError(f"bad {name} option: {exc}") from None


def _no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise MaladeError(f"defence {name} takes no options, got {', '.join(sorted(options))}")
