"""The undefended classifier: the baseline every table compares against."""
from __future__ import annotations

from .base import Defense


class NoDefense(Defense):
    """Identity purifier: logits = classifier(x)."""

    name = "none"
