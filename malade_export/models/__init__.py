"""Every network is rebuilt from a small JSON-able config (see checkpoint.py) through these registries."""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import MaladeError
from .classifiers import CLASSIFIERS
from .dae import DENOISERS, DenoisingAutoencoder
from .gan import Critic, Generator

MODEL_KINDS = ("classifier", *DENOISERS.names(), "generator", "critic")


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build an untrained network from a checkpoint config (``kind``, ``input_shape``, ...)."""
    kind = config.get("kind")
    shape = tuple(config.get("input_shape", ()))
    if len(shape) != 3:
        raise MaladeError(f"model config has input_shape {list(shape)}; expected [C, H, W]")
    if kind == "classifier":
        return CLASSIFIERS.get(config.get("arch"))(shape, int(config.get("num_classes", 10)))
    if kind in DENOISERS:
        return DENOISERS.get(kind)(shape, config)
    if kind == "generator":
        return Generator(shape[0], int(config.get("latent_dim", 128)))
    if kind == "critic":
        return Critic(shape[0])
    raise MaladeError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")


__all__ = ["CLASSIFIERS", "DENOISERS", "MODEL_KINDS", "Critic", "DenoisingAutoencoder", "Generator", "build_model"]
