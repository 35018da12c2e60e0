"""Latency benchmark of the exported Malade chain against Defense-GAN.

timing (stats), flops (MAC counts), peak (matmul ceiling), backends (what one timed call runs),
latency (the suite, Defense-GAN's cases included), report / plot (the output files).
"""
from .latency import BenchConfig, quick_config, run_benchmark
from .report import format_ratios, write_report
from .timing import TimingStats, percentile, summarize, time_callable

__all__ = ["BenchConfig", "TimingStats", "format_ratios", "percentile", "quick_config", "run_benchmark", "summarize",
           "time_callable", "write_report"]
