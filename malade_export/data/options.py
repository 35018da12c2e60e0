"""How to read a dataset, beside its name: one object that every source receives."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import MaladeError


@dataclass(frozen=True)
class ReadOptions:
    """Options a source may use; each ignores those that do not concern it.

    ``image_size`` (H, W) resizes every image; ``test_fraction`` is held out (seed 0) when a source
    has no test set of its own; ``cache`` lets the image-folder source reuse decoded arrays.
    """

    data_dir: str | Path | None = None
    image_size: tuple[int, int] | None = None
    skip_bad_images: bool = False
    test_fraction: float = 0.2
    cache: bool = True
    progress: bool = True


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """'32' -> (32, 32); '24x32' -> (24, 32) (height x width); None/'' -> None."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", text)
    if not match:
        raise MaladeError(f"--image-size {text!r}: expected H or HxW, e.g. 32 or 24x32")
    height = int(match.group(1))
    width = int(match.group(2) or height)
    if not (0 < height <= 4096 and 0 < width <= 4096):
        raise MaladeError(f"--image-size {text!r}: each side must be between 1 and 4096 pixels")
    return height, width
