"""Counter-based Gaussian noise from integer seeds, written once for numpy and torch.

Why this shape: the exported graph must make the same noise in PyTorch, ONNX Runtime and the
host (numpy), bit for bit. So the generator uses only int64 ``* + %`` with every product below
2**62 (no overflow anywhere), exact int->float casts (< 2**23), and a Gaussian inverse CDF made of
float32 ``+ - * /``, comparisons and Where: no Log/Cos/Sqrt (libm rounds differently per runtime)
and no RandomNormal op (unseedable in TensorRT, different in every runtime).

Counters are laid out per (vote, step, pixel) and keyed by the sample's own seed, so a sample's
noise never depends on the batch it is in.
"""
from __future__ import annotations

from typing import Any, Protocol

MODULUS = 2_147_483_647  # 2**31 - 1, prime: products of two residues stay below 2**62.
MULTIPLIERS = (48_271, 1_103_515_245, 69_621)
UNIFORM_BITS = 23

# Acklam's inverse normal CDF coefficients: central rational part and tail part.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549671010422470e00,
      4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425
_LN2 = 0.6931471805599453


class ArrayOps(Protocol):
    """The handful of primitives the generator needs from a tensor library."""

    def arange(self, n: int, like: Any) -> Any: ...
    def to_float(self, a: Any) -> Any: ...
    def where(self, cond: Any, a: Any, b: Any) -> Any: ...
    def exact_div(self, a: Any, b: int) -> Any: ...
    def float_const(self, value: float, like: Any) -> Any: ...
    def permute(self, a: Any, order: tuple[int, ...]) -> Any: ...


def _horner(coeffs: tuple[float, ...], x: Any, ops: ArrayOps) -> Any:
    acc = ops.float_const(coeffs[0], x)
    for c in coeffs[1:]:
        acc = acc * x + ops.float_const(c, x)
    return acc


def _log(p: Any, ops: ArrayOps) -> Any:
    """ln(p) for p in [2**-24, 1): exact power-of-two range reduction, then an atanh series."""
    k = p * 0
    for s in (16, 8, 4, 2, 1):
        small = p < ops.float_const(2.0**-s, p)
        p = ops.where(small, p * ops.float_const(2.0**s, p), p)
        k = ops.where(small, k + ops.float_const(float(s), p), k)
    t = (p - ops.float_const(1.0, p)) / (p + ops.float_const(1.0, p))  # p in [0.5, 1): |t| <= 1/3
    t2 = t * t
    series = _horner(tuple(1.0 / n for n in (15, 13, 11, 9, 7, 5, 3, 1)), t2, ops)
    return ops.float_const(2.0, p) * t * series - k * ops.float_const(_LN2, p)


def _sqrt(y: Any, ops: ArrayOps) -> Any:
    """sqrt(y) for y in [0, 40] by Newton's method from a linear first guess."""
    r = ops.float_const(1.5, y) + ops.float_const(0.13, y) * y
    for _ in range(5):
        r = ops.float_const(0.5, y) * (r + y / r)
    return r


def _inverse_normal_cdf(u: Any, ops: ArrayOps) -> Any:
    """Acklam's approximation (relative error < 1.2e-9 in exact arithmetic) in float32."""
    q = u - ops.float_const(0.5, u)
    r = q * q
    central = q * _horner(_A, r, ops) / (_horner(_B + (1.0,), r, ops))
    tail_p = ops.where(u < ops.float_const(0.5, u), u, ops.float_const(1.0, u) - u)
    tail_p = ops.where(tail_p < ops.float_const(_P_LOW, u), tail_p, ops.float_const(_P_LOW, u))
    z = _sqrt(ops.float_const(-2.0, u) * _log(tail_p, ops), ops)
    tail = _horner(_C, z, ops) / _horner(_D + (1.0,), z, ops)
    tail = ops.where(u < ops.float_const(0.5, u), tail, -tail)
    is_tail = (u < ops.float_const(_P_LOW, u)) | (u > ops.float_const(1.0 - _P_LOW, u))
    return ops.where(is_tail, tail, central)


def gaussian_from_seeds(seeds: Any, votes: int, steps: int, pixels: int, ops: ArrayOps) -> Any:
    """Standard normal float32 noise [steps, votes * B, pixels] for int64 ``seeds`` [B].

    Chain ``v * B + b`` (vote v of sample b) at step t, pixel p uses counter
    ``(v * steps + t) * pixels + p`` hashed with sample b's seed.
    """
    m = MODULUS
    seed_lo = seeds % m
    seed_hi = ops.exact_div(seeds - seed_lo, m) % m
    count = votes * steps * pixels
    counter = (ops.arange(count, seeds) % m).reshape(votes, 1, steps, pixels)  # [V, 1, T, P]
    lo = seed_lo.reshape(1, -1, 1, 1)
    hi = seed_hi.reshape(1, -1, 1, 1)
    h = (counter * MULTIPLIERS[0] + lo) % m
    h = (h * h + hi) % m
    h = (h * MULTIPLIERS[1] % m + counter) % m
    h = (h * h + lo) % m
    h = (h * MULTIPLIERS[2] + hi) % m
    h = (h * h + counter) % m
    bits = h % (1 << UNIFORM_BITS)
    u = ops.to_float(bits) * ops.float_const(2.0**-UNIFORM_BITS, ops.to_float(bits)) + ops.float_const(
        2.0 ** -(UNIFORM_BITS + 1), ops.to_float(bits))
    z = _inverse_normal_cdf(u, ops)  # [V, B, T, P]
    return ops.permute(z, (2, 0, 1, 3)).reshape(steps, -1, pixels)
