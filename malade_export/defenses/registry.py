"""Build any registered defence by name from checkpoint paths: the single entry point of the CLI and scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint
from .base import DEFENSES, Defense, DefenseSources

CheckpointPath = str | Path


def build_defense(name: str, classifier_ckpt: CheckpointPath | Checkpoint, dae_ckpt: CheckpointPath | None = None,
                  generator_ckpt: CheckpointPath | None = None, **options: Any) -> Defense:
    """``options``: the defence's own settings (steps, schedule, clip, votes for mala and malade; steps,
    restarts, lr, ... for defensegan); a defence that takes none refuses any. ``classifier_ckpt`` may also be a
    classifier already loaded from any source (``classifier_sources``)."""
    return DEFENSES.get(name).from_sources(DefenseSources(classifier_ckpt, dae_ckpt, generator_ckpt), options)
