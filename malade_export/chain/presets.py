"""Bundled weights, by name: the classifier and sDAE a chain is built from when no checkpoint is given."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class Preset:
    """A classifier and the sDAE trained under it, shipped inside the package; ``dae`` is the unsupervised
    DAE that Mala and MagNet use with this classifier, where one is bundled. The chain's step schedule
    comes from the sDAE's checkpoint (``schedule.default_schedule``), so it travels with the file."""

    classifier: Path
    sdae: Path
    description: str
    dae: Path | None = None


PRESETS: Registry[Preset] = Registry("preset")
DEFAULT_PRESET = "fashion-mnist"

# 48 channels, 10 epochs: 1.35-1.5x faster than the paper's 64 and as robust (results/faster_sdae/c48k5_e10)
PRESETS.register(DEFAULT_PRESET)(Preset(
    WEIGHTS_DIR / "classifier_a.safetensors", WEIGHTS_DIR / "sdae_a_c48k5_e10.safetensors",
    "Fashion-MNIST: classifier A and its 48-channel sDAE (sigma 0.3)", dae=WEIGHTS_DIR / "dae.safetensors"))

# The classifier of results/cifar10/classifier (87.26 % on the JPEG copy's test set)
# Its sDAE: 48 channels, 3x3, full resolution with a skip, sigma 0.1, cross-entropy weight 30 (the sweep's
# choice, results/cifar10/sdae_sweep); the DAE of the same shape (Mala, MagNet) stays in results/ to keep the
# package small.
PRESETS.register("cifar10")(Preset(
    WEIGHTS_DIR / "cifar10_classifier.safetensors", WEIGHTS_DIR / "cifar10_sdae.safetensors",
    "CIFAR-10 (32x32 colour): classifier airbench-small (87.3 %) and its full-resolution sDAE (sigma 0.1)"))


def preset(name: str = DEFAULT_PRESET) -> Preset:
    return PRESETS.get(name)


def preset_help() -> str:
    """Each preset's name and description, for a command's --help."""
    return "; ".join(f"{name}: {PRESETS.get(name).description}" for name in PRESETS)
