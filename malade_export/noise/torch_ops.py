"""torch primitives for the noise generator: traced into the exported TorchScript graph."""
from __future__ import annotations

import numpy as np
import torch

from .gaussian import OperatorArithmetic, gaussian_from_seeds


class TorchOps(OperatorArithmetic):
    """Words are int64 tensors holding the uint64 bits: torch has no usable uint64 arithmetic.

    int64 ``+ *`` wrap mod 2**64 and ``^`` is bitwise, so they give the unsigned results' bits;
    only the right shift differs (torch's is arithmetic), so it masks off the sign's copies.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def seed_words(self, seeds: torch.Tensor) -> torch.Tensor:
        return seeds.to(torch.int64).reshape(1, 1, -1, 1)

    def words(self, values: np.ndarray) -> torch.Tensor:
        bits = np.asarray(values, dtype=np.uint64).view(np.int64)
        return torch.from_numpy(np.array(bits)).to(self.device)

    def shift_right(self, a: torch.Tensor, bits: int) -> torch.Tensor:
        return (a >> bits) & ((1 << (64 - bits)) - 1)

    def flatten(self, a: torch.Tensor) -> torch.Tensor:
        return a.reshape(-1)

    def to_float(self, a: torch.Tensor) -> torch.Tensor:
        return a.to(torch.float32)

    def float_const(self, value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=torch.float32, device=self.device)

    def floor(self, a: torch.Tensor) -> torch.Tensor:
        return torch.floor(a)

    def to_index(self, a: torch.Tensor) -> torch.Tensor:
        return a.to(torch.int64)

    def lookup(self, values: np.ndarray, index: torch.Tensor) -> torch.Tensor:
        return torch.gather(torch.from_numpy(values).to(index.device), 0, index)


def seeded_noise_torch(seeds: torch.Tensor, steps: int, shape: tuple[int, int, int], votes: int = 1) -> torch.Tensor:
    """Torch twin of ``seeded_noise``: float32 [steps, votes * B, C, H, W], bit-identical."""
    pixels = shape[0] * shape[1] * shape[2]
    flat = gaussian_from_seeds(seeds, votes, steps, pixels, TorchOps(seeds.device))
    return flat.reshape(steps, -1, *shape)
