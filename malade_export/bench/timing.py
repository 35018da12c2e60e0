"""Latency statistics: warm-up, then timed repetitions summarised as median / p90 / p99 / throughput.

Percentiles use linear interpolation between order statistics (numpy's default), written out here so
the C++ harnesses (cpp_bench/src/timing.hpp) can compute exactly the same numbers.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TimingStats:
    """Seconds per call (one call = one batch) and images per second at the median."""

    median_s: float
    p90_s: float
    p99_s: float
    mean_s: float
    min_s: float
    reps: int
    batch: int
    throughput: float  # images / s at the median latency

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def percentile(samples: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) with linear interpolation between the two nearest ranks."""
    if not samples:
        raise ValueError("percentile of an empty sample")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must lie in [0, 100], got {q}")
    ordered = sorted(samples)
    rank = q / 100.0 * (len(ordered) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def summarize(samples: Sequence[float], batch: int) -> TimingStats:
    median = percentile(samples, 50.0)
    return TimingStats(median, percentile(samples, 90.0), percentile(samples, 99.0), sum(samples) / len(samples),
                       min(samples), len(samples), batch, batch / median if median > 0 else math.inf)


def sample_callable(fn: Callable[[], object], warmup: int = 3, reps: int = 30, budget_s: float | None = None,
                    min_reps: int = 3) -> list[float]:
    """Seconds per call of ``fn``, ``reps`` times after ``warmup`` untimed calls.

    ``budget_s`` stops early (after at least ``min_reps``) so slow cases such as Defense-GAN at
    R = 10 do not hold a run hostage; the caller sees how many repetitions were actually made.
    """
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if budget_s is not None and len(samples) >= min_reps and time.perf_counter() - started > budget_s:
            break
    return samples


def time_callable(fn: Callable[[], object], batch: int, warmup: int = 3, reps: int = 30,
                  budget_s: float | None = None, min_reps: int = 3) -> TimingStats:
    """``sample_callable``, summarised."""
    return summarize(sample_callable(fn, warmup, reps, budget_s, min_reps), batch)
