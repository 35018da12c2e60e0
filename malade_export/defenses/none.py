"""The undefended classifier: the baseline every table compares against."""
from __future__ import annotations

from ..chain import ChainSettings
from ..classifier_sources import load_classifier
from .base import Defense, DefenseSources, register_defense
from .projection import ReconstructionSettings


@register_defense
class NoDefense(Defense):
    """Identity purifier: logits = classifier(x)."""

    name = "none"

    @classmethod
    def build(cls, sources: DefenseSources, chain: ChainSettings, projection: ReconstructionSettings) -> NoDefense:
        return cls(load_classifier(sources.classifier).model)
