"""Bundled weights, by name: the classifier and sDAE a chain is built from when no checkpoint is given."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class Preset:
    """A classifier and the sDAE trained under it, shipped inside the package."""

    classifier: Path
    sdae: Path
    description: str


PRESETS: Registry[Preset] = Registry("preset")
DEFAULT_PRESET = "fashion-mnist"

# 48 channels, 10 epochs: 1.35-1.5x faster than the paper's 64 and as robust (results/faster_sdae/c48k5_e10)
PRESETS.register(DEFAULT_PRESET)(Preset(
    WEIGHTS_DIR / "classifier_a.safetensors", WEIGHTS_DIR / "sdae_a_c48k5_e10.safetensors",
    "Fashion-MNIST: classifier A and its 48-channel sDAE (sigma 0.3)"))


def preset(name: str = DEFAULT_PRESET) -> Preset:
    return PRESETS.get(name)
