"""numpy primitives for the noise generator: the host twin of the graph (no torch needed)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .gaussian import gaussian_from_seeds


class NumpyOps:
    def arange(self, n: int, like: Any) -> np.ndarray:
        return np.arange(n, dtype=np.int64)

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return a.astype(np.float32)

    def exact_div(self, a: np.ndarray, b: int) -> np.ndarray:
        return a // b

    def float_const(self, value: float, like: Any) -> np.float32:
        return np.float32(value)

    def floor(self, a: np.ndarray) -> np.ndarray:
        return np.floor(a)

    def to_index(self, a: np.ndarray) -> np.ndarray:
        return a.astype(np.int64)

    def permute(self, a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
        return a.transpose(order)

    def lookup(self, values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return values[index]


def seeded_noise(seeds: np.ndarray | list[int], steps: int, shape: tuple[int, int, int], votes: int = 1) -> np.ndarray:
    """Exactly the noise a seed-mode graph makes: float32 [steps, votes * B, C, H, W]."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    pixels = int(np.prod(shape))
    with np.errstate(over="raise"):
        flat = gaussian_from_seeds(seeds, votes, steps, pixels, NumpyOps())
    return np.ascontiguousarray(flat.reshape(steps, votes * len(seeds), *shape), dtype=np.float32)
