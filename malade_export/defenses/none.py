"""The undefended classifier: the baseline every table compares against."""
from __future__ import annotations

from typing import Any

from ..checkpoint import load_checkpoint
from .base import Defense, DefenseSources, no_options, register_defense


@register_defense
class NoDefense(Defense):
    """Identity purifier: logits = classifier(x)."""

    name = "none"

    @classmethod
    def from_sources(cls, sources: DefenseSources, options: dict[str, Any]) -> NoDefense:
        no_options(cls.name, options)
        return cls(load_checkpoint(sources.classifier, "classifier").model)
