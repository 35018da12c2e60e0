"""Model registry: every network is rebuilt from a small JSON-able config (see checkpoint.py)."""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import MaladeError
from .classifiers import CLASSIFIERS
from .dae import DenoisingAutoencoder
from .gan import Critic, Generator

MODEL_KINDS = ("classifier", "dae", "sdae", "generator", "critic")


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build an untrained network from a checkpoint config (``kind``, ``input_shape``, ...)."""
    kind = config.get("kind")
    shape = tuple(config.get("input_shape", ()))
    if len(shape) != 3:
        raise MaladeError(f"model config has input_shape {list(shape)}; expected [C, H, W]")
    if kind == "classifier":
        arch = config.get("arch")
        if arch not in CLASSIFIERS:
            raise MaladeError(f"unknown classifier architecture {arch!r}; choose one of {', '.join(CLASSIFIERS)}")
        return CLASSIFIERS[arch](shape, int(config.get("num_classes", 10)))
    if kind in ("dae", "sdae"):
        return DenoisingAutoencoder(shape, int(config["channels"]), int(config["kernel"]))
    if kind == "generator":
        return Generator(shape[0], int(config.get("latent_dim", 128)))
    if kind == "critic":
        return Critic(shape[0])
    raise MaladeError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")


__all__ = ["CLASSIFIERS", "Critic", "DenoisingAutoencoder", "Generator", "MODEL_KINDS", "build_model"]
