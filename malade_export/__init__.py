"""malade-export: the Malade adversarial defence as one deployable ONNX / TorchScript graph.

Public API (imported lazily so ``malade_export.runtime`` works on a server without torch):
``MaladeDefense``, ``Schedule``, ``load_defense``, ``export_defense``, ``Session``, ``seeded_noise``.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "MaladeDefense": "malade_export.chain",
    "DefenseOutput": "malade_export.chain",
    "Schedule": "malade_export.schedule",
    "DEFAULT_SCHEDULE": "malade_export.schedule",
    "load_defense": "malade_export.chain",
    "LoadedDefense": "malade_export.chain",
    "load_checkpoint": "malade_export.checkpoint",
    "save_checkpoint": "malade_export.checkpoint",
    "export_defense": "malade_export.export",
    "Session": "malade_export.runtime",
    "seeded_noise": "malade_export.noise",
    "fresh_seeds": "malade_export.noise",
    "MaladeError": "malade_export.errors",
    "load_classifier": "malade_export.classifier_sources",
    "InputConventions": "malade_export.classifier_sources",
    "defend": "malade_export.defend_pipeline",
    "DefendConfig": "malade_export.defend_pipeline",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'malade_export' has no attribute {name!r}")
