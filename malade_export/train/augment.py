"""Batch augmentation for colour images: random translation (reflect-padded crop) and horizontal flip.

Done on the whole batch tensor, grouped by offset, so it costs a few copies per batch instead of
a Python loop per image; ``None`` (the default everywhere) leaves training as it was.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor], torch.Tensor]

AUGMENTS = ("none", "crop-flip", "flip")


def random_crop(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Each image shifted by a random (dy, dx) in [-pad, pad]^2, borders filled by reflection."""
    if pad <= 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    out = torch.empty_like(images)
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            index = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).nonzero().flatten()
            if len(index):
                out[index] = padded[index, :, dy:dy + h, dx:dx + w]
    return out


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Half of the images (at random) mirrored left-right."""
    flip = (torch.rand(len(images), generator=generator) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip, images.flip(3), images)


def make_augment(name: str, crop_pad: int = 2, seed: int = 0) -> Augment | None:
    """The batch transform called ``name`` (see AUGMENTS); None for "none"."""
    if name == "none":
        return None
    generator = torch.Generator().manual_seed(seed)
    if name == "flip":
        return lambda images: random_flip(images, generator)
    if name == "crop-flip":
        return lambda images: random_flip(random_crop(images, crop_pad, generator), generator)
    raise ValueError(f"unknown augmentation {name!r}; choose one of {', '.join(AUGMENTS)}")
