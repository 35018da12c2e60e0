"""numpy primitives for the noise generator: the host twin of the graph (no torch needed)."""
from __future__ import annotations

import numpy as np

from .gaussian import OperatorArithmetic, gaussian_from_seeds


class NumpyOps(OperatorArithmetic):
    """Words are uint64 arrays: numpy wraps their arithmetic mod 2**64 and shifts them logically."""

    def seed_words(self, seeds: np.ndarray) -> np.ndarray:
        return seeds.astype(np.int64).view(np.uint64).reshape(1, 1, -1, 1)

    def words(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.uint64)

    def shift_right(self, a: np.ndarray, bits: int) -> np.ndarray:
        return a >> np.uint64(bits)

    def flatten(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(-1)

    def to_float(self, a: np.ndarray) -> np.ndarray:
        return a.astype(np.float32)

    def float_const(self, value: float) -> np.float32:
        return np.float32(value)

    def floor(self, a: np.ndarray) -> np.ndarray:
        return np.floor(a)

    def to_index(self, a: np.ndarray) -> np.ndarray:
        return a.astype(np.int64)

    def lookup(self, values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return values[index]


def seeded_noise(seeds: np.ndarray | list[int], steps: int, shape: tuple[int, int, int], votes: int = 1) -> np.ndarray:
    """Exactly the noise a seed-mode graph makes: float32 [steps, votes * B, C, H, W]."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    pixels = int(np.prod(shape))
    flat = gaussian_from_seeds(seeds, votes, steps, pixels, NumpyOps())
    return np.ascontiguousarray(flat.reshape(steps, votes * len(seeds), *shape), dtype=np.float32)
