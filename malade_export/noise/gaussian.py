"""Counter-based Gaussian noise from integer seeds, written once for numpy and torch.

Why this shape: the exported graph must make the same noise in PyTorch, ONNX Runtime and the
host (numpy), bit for bit. So the generator uses only int64 ``* + % &`` with every product below
2**62 (no overflow anywhere), exact int->float casts (< 2**23), exact float arithmetic on small
dyadic rationals, table lookups (GatherElements) and one float32 multiply-add: no Log/Cos/Sqrt
(libm rounds differently per runtime) and no RandomNormal op (unseedable in TensorRT, different in
every runtime).

The Gaussian is an inverse-CDF lookup: the top 16 of 23 uniform bits pick one of 65,536
equal-probability cells, the low 7 bits place the sample inside it along the tangent of the
normal quantile function at the cell's middle. Two lookups and a multiply-add instead of a
rational approximation with log and square root evaluated on every element: it is what keeps
seed mode within a few percent of a graph that is fed its noise, for 512 KB of tables in the
file. The cost is the far tail: the quantile error is below 2e-4 for |z| < 3.5 and below 4e-3
for |z| < 3.9, and |z| stops at 4.45 (probability 9e-6 under a true Gaussian).

Counters are laid out per (vote, step, pixel) and keyed by the sample's own seed, so a sample's
noise never depends on the batch it is in.
"""
from __future__ import annotations

import functools
import statistics
from typing import Any, Protocol

import numpy as np

MODULUS = 2_147_483_647  # 2**31 - 1, prime: products of two residues stay below 2**62.
MULTIPLIERS = (48_271, 1_103_515_245, 69_621)
UNIFORM_BITS = 23
CELL_BITS = 16  # 2**16 quantile cells; the other UNIFORM_BITS - CELL_BITS bits interpolate
NOISE_GENERATOR = "lcg-hash6/quantile-table-2^16"  # recorded in export metadata: changes change the noise


class ArrayOps(Protocol):
    """The handful of primitives the generator needs from a tensor library."""

    def arange(self, n: int, like: Any) -> Any: ...
    def to_float(self, a: Any) -> Any: ...
    def exact_div(self, a: Any, b: int) -> Any: ...
    def float_const(self, value: float, like: Any) -> Any: ...
    def floor(self, a: Any) -> Any: ...
    def to_index(self, a: Any) -> Any: ...
    def lookup(self, values: np.ndarray, index: Any) -> Any: ...
    def permute(self, a: Any, order: tuple[int, ...]) -> Any: ...


@functools.cache
def quantile_tables() -> tuple[np.ndarray, np.ndarray]:
    """float32 (middle quantile, quantile change across the cell) for each of the 2**CELL_BITS cells."""
    cells = 1 << CELL_BITS
    normal = statistics.NormalDist()
    middle = np.array([normal.inv_cdf((j + 0.5) / cells) for j in range(cells)])
    width = np.gradient(middle)  # central differences; one-sided in the two end cells
    return middle.astype(np.float32), width.astype(np.float32)


def _normal_from_bits(bits: Any, ops: ArrayOps) -> Any:
    """Uniform integers in [0, 2**UNIFORM_BITS) -> standard normal float32, flattened.

    The cell split is float arithmetic: exact, because every value is a small dyadic rational,
    and several times cheaper than int64 division in ONNX Runtime.
    """
    bits = bits.reshape(-1)  # 1-D: a table lookup is then one GatherElements, no shape ops around it
    shift = UNIFORM_BITS - CELL_BITS
    scaled = ops.to_float(bits) * ops.float_const(2.0**-shift, bits)  # cell + k / 2**shift, exactly
    cell = ops.floor(scaled)
    index = ops.to_index(cell)
    middle, width = quantile_tables()
    # position in the cell, (k + 1/2) / 2**shift - 1/2: in (-1/2, 1/2), symmetric about the middle
    fraction = (scaled - cell) - ops.float_const(0.5 - 2.0 ** -(shift + 1), bits)
    return ops.lookup(middle, index) + ops.lookup(width, index) * fraction


def gaussian_from_seeds(seeds: Any, votes: int, steps: int, pixels: int, ops: ArrayOps) -> Any:
    """Standard normal float32 noise for int64 ``seeds`` [B], flat in [steps, votes * B, pixels] order.

    Chain ``v * B + b`` (vote v of sample b) at step t, pixel p uses counter
    ``(v * steps + t) * pixels + p`` hashed with sample b's seed.
    """
    m = MODULUS
    seeds = seeds.reshape(1, 1, -1, 1)  # one reshape, before the split: each graph operator costs at batch 1
    lo = seeds % m
    hi = ops.exact_div(seeds - lo, m) % m
    count = votes * steps * pixels
    counter = (ops.arange(count, seeds) % m).reshape(votes, steps, 1, pixels)
    counter = ops.permute(counter, (1, 0, 2, 3))  # [T, V, 1, P]: the output order, on a constant
    h = (counter * MULTIPLIERS[0] + lo) % m
    h = (h * h + hi) % m
    h = (h * MULTIPLIERS[1] + counter) % m
    h = (h * h + lo) % m
    h = (h * MULTIPLIERS[2] + hi) % m
    h = (h * h + counter) % m
    low_bits = h & ((1 << UNIFORM_BITS) - 1)  # h >= 0, so this is h % 2**23 as one cheap BitwiseAnd
    return _normal_from_bits(low_bits, ops)  # flat: the caller reshapes once, to its final shape
