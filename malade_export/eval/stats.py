"""Accuracy with an honest error bar: at n = 1000 a 95% interval is still about +-2 points wide."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; unlike the normal approximation it stays
    inside [0, 1] and is sensible at 0% and 100% (common for attacked / clean accuracy)."""
    if n <= 0:
        raise ValueError(f"need at least one trial, got n={n}")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    correct: int
    n: int

    @property
    def value(self) -> float:
        return self.correct / self.n

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)

    def to_dict(self) -> dict[str, object]:
        return {"correct": self.correct, "n": self.n, "accuracy": self.value, "ci95": list(self.ci95)}

    def __str__(self) -> str:
        low, high = self.ci95
        return f"{100 * self.value:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"
