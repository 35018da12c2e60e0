"""What a classifier expects in front and gives out, declared once and folded into every graph.

The chain works on pixels in [0, 1]. A user's classifier may want another range ([0, 255],
[-1, 1]) and per-channel mean/std normalisation, and may output probabilities instead of
logits. ``WithConventions`` puts exactly that in front of (and behind) the classifier, so that
training, evaluation and the exported file all see a classifier of [0, 1] pixels giving logits,
and no caller ever normalises.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import MaladeError

INPUT_RANGES = ("0-1", "0-255", "-1-1")
OUTPUT_KINDS = ("logits", "probabilities")
PROBABILITY_FLOOR = 1e-30  # log(0) would be -inf: probabilities are floored before the log


@dataclass(frozen=True)
class InputConventions:
    """range first, then (x - mean) / std per channel, both in the range's own units."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    input_range: str = "0-1"
    outputs: str = "logits"

    def __post_init__(self) -> None:
        if self.input_range not in INPUT_RANGES:
            raise MaladeError(f"unknown input range {self.input_range!r}; choose one of {', '.join(INPUT_RANGES)}")
        if self.outputs not in OUTPUT_KINDS:
            raise MaladeError(f"unknown outputs {self.outputs!r}; choose one of {', '.join(OUTPUT_KINDS)}")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise MaladeError(f"--std values must be > 0, got {list(self.std)}")

    @property
    def is_identity(self) -> bool:
        return self.mean is None and self.std is None and self.input_range == "0-1" and self.outputs == "logits"

    def check_channels(self, channels: int, source: str) -> None:
        """mean/std give one value per channel (or one for all); anything else is a one-line error."""
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values is not None and len(values) not in (1, channels):
                raise MaladeError(f"--{name} has {len(values)} values but {source} takes {channels}-channel images")

    def scale_shift(self, channels: int) -> tuple[list[float], list[float]]:
        """Per channel, the affine map y = a x + b from [0, 1] pixels to the classifier's input."""
        lo, width = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 2.0)}[self.input_range]
        mean = list(self.mean or (0.0,)) * (channels if self.mean is None or len(self.mean) == 1 else 1)
        std = list(self.std or (1.0,)) * (channels if self.std is None or len(self.std) == 1 else 1)
        return [width / s for s in std], [(lo - m) / s for m, s in zip(mean, std, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean) if self.mean else None, "std": list(self.std) if self.std else None,
                "input_range": self.input_range, "outputs": self.outputs}

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> InputConventions:
        values = values or {}
        return cls(_floats(values.get("mean")), _floats(values.get("std")), values.get("input_range", "0-1"),
                   values.get("outputs", "logits"))


def _floats(values: Sequence[float] | None) -> tuple[float, ...] | None:
    return tuple(float(v) for v in values) if values else None


def parse_floats(text: str | None, name: str) -> tuple[float, ...] | None:
    """'0.485,0.456,0.406' (commas or spaces) -> floats; a one-line error names the option."""
    if not text:
        return None
    try:
        return tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise MaladeError(f"--{name} must be numbers separated by commas, got {text!r}") from None


class Preprocess(nn.Module):
    """[0, 1] pixels -> the classifier's input, as one per-channel multiply-add (exports as Mul, Add)."""

    def __init__(self, conventions: InputConventions, channels: int) -> None:
        super().__init__()
        scale, shift = conventions.scale_shift(channels)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class WithConventions(nn.Module):
    """The user's classifier seen as one of [0, 1] pixels giving logits (log-probabilities for
    a classifier that outputs probabilities: the same softmax, the same argmax)."""

    def __init__(self, classifier: nn.Module, conventions: InputConventions, channels: int) -> None:
        super().__init__()
        self.preprocess = Preprocess(conventions, channels)
        self.classifier = classifier
        self.log_outputs = conventions.outputs == "probabilities"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.classifier(self.preprocess(x))
        return out.clamp_min(PROBABILITY_FLOOR).log() if self.log_outputs else out
