"""Build any registered defence by name from checkpoint paths: the single entry point of the CLI and scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import DEFENSES, Defense, DefenseSources

CheckpointPath = str | Path


def build_defense(name: str, classifier_ckpt: CheckpointPath, dae_ckpt: CheckpointPath | None = None,
                  generator_ckpt: CheckpointPath | None = None, **options: Any) -> Defense:
    """``options``: the defence's own settings (steps, schedule, clip, votes for mala and malade; steps,
    restarts, lr, ... for defensegan); a defence that takes none refuses any."""
    return DEFENSES.get(name).from_sources(DefenseSources(classifier_ckpt, dae_ckpt, generator_ckpt), options)
