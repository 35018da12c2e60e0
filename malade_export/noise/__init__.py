"""Seeded, runtime-portable Gaussian noise. ``seeded_noise`` (numpy) imports without torch."""
import secrets

import numpy as np

from .numpy_ops import seeded_noise

SEED_BOUND = 1 << 62


def fresh_seeds(batch: int) -> np.ndarray:
    """One unpredictable seed per sample from OS entropy (``secrets``): the production default."""
    return np.array([secrets.randbelow(SEED_BOUND) for _ in range(batch)], dtype=np.int64)


__all__ = ["seeded_noise", "fresh_seeds", "SEED_BOUND"]
