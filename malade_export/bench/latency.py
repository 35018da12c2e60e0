"""The latency suite: Malade (N x batch x backend) against Defense-GAN (L, R), in one run, one report."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch

from ..checkpoint import load_checkpoint
from ..defensegan import ReconstructionSettings
from ..loading import load_defense
from .artifacts import bench_checkpoints, export_chain
from .backends import BACKENDS, DESCRIPTIONS, BackendUnavailable, make_runner
from .dgan import AUTOGRAD_NOTE, frozen_generator, time_defensegan
from .environment import describe_environment
from .flops import chain_macs, defensegan_macs
from .peak import matmul_peak_gflops
from .report import goal_ratios, table6
from .timing import TimingStats, time_callable

Log = Callable[[str], None]


@dataclass
class BenchConfig:
    """Everything that decides what is timed; recorded verbatim in the JSON."""

    steps: tuple[int, ...] = (10, 25, 50)
    batches: tuple[int, ...] = (1, 64)
    backends: tuple[str, ...] = BACKENDS
    warmup: int = 3
    reps: int = 30
    budget_s: float = 20.0  # per case; at least 3 repetitions are always made
    threads: int = field(default_factory=torch.get_num_threads)
    dgan_steps: int = 200
    dgan_restarts: tuple[int, ...] = (1, 10)
    dgan_measure_steps: int = 200  # fewer: measure that many steps and scale linearly to dgan_steps
    dgan_batches: tuple[int, ...] = (1,)
    dgan_reps: int = 5
    peak_size: int = 1024
    classifier: str | None = None
    sdae: str | None = None
    quick: bool = False


def quick_config(**overrides: object) -> BenchConfig:
    """About two minutes on two cores: N = 10 only, few repetitions, Defense-GAN measured at 10 steps."""
    base = BenchConfig(steps=(10,), warmup=1, reps=5, budget_s=5.0, dgan_measure_steps=10, dgan_reps=2,
                       peak_size=512, quick=True)
    return replace(base, **overrides)  # type: ignore[arg-type]


def _row(stats: TimingStats, macs: int, **keys: object) -> dict[str, object]:
    flops = 2 * macs
    return {**keys, "median_ms": stats.median_s * 1e3, "p90_ms": stats.p90_s * 1e3,
            "p99_ms": stats.p99_s * 1e3, "mean_ms": stats.mean_s * 1e3, "reps": stats.reps,
            "throughput": stats.throughput, "macs_per_sample": macs, "gflop_per_sample": flops / 1e9,
            "gflops": flops * stats.batch / stats.median_s / 1e9}


def _malade_rows(config: BenchConfig, classifier: Path, sdae: Path, work: Path, log: Log,
                 skipped: dict[str, str]) -> list[dict[str, object]]:
    rows = []
    for n in config.steps:
        loaded = load_defense(classifier, sdae, steps=n)
        files = export_chain(loaded, work)
        macs = chain_macs(loaded.defense)["total"]
        for batch in config.batches:
            for backend in config.backends:
                if backend in skipped:
                    continue
                try:
                    runner = make_runner(backend, files, batch, config.threads)
                except BackendUnavailable as exc:
                    skipped[backend] = str(exc)
                    log(f"skip {backend}: {exc}")
                    continue
                stats = time_callable(runner, batch, config.warmup, config.reps, config.budget_s)
                rows.append(_row(stats, macs, kind="malade", backend=backend, steps=n, batch=batch))
                log(f"malade N={n:<3} batch={batch:<3} {backend:<20} median {stats.median_s * 1e3:9.2f} ms "
                    f"({stats.reps} reps)")
    return rows


def _dgan_rows(config: BenchConfig, classifier: Path, log: Log) -> list[dict[str, object]]:
    """(L = dgan_steps, R in dgan_restarts) and, for Table 6, (L = N, R = 1) for each Malade N."""
    clf = load_checkpoint(classifier, "classifier")
    shape = tuple(clf.config["input_shape"])
    generator = frozen_generator(shape[0])
    cases = [(config.dgan_steps, r, "main") for r in config.dgan_restarts]
    cases += [(n, 1, "table6") for n in config.steps if n != config.dgan_steps or 1 not in config.dgan_restarts]
    rows = []
    for batch in config.dgan_batches:
        for steps, restarts, role in cases:
            settings = ReconstructionSettings(steps=steps, restarts=restarts)
            stats, measured = time_defensegan(generator, clf.model, shape, batch, settings, config.dgan_measure_steps,
                                              warmup=1, reps=config.dgan_reps, budget_s=config.budget_s)
            macs = defensegan_macs(generator, clf.model, steps, restarts)["total"]
            rows.append(_row(stats, macs, kind="defensegan", backend="pytorch-eager+autograd", steps=steps,
                             restarts=restarts, batch=batch, role=role, measured_steps=measured,
                             extrapolated=measured != steps))
            how = "measured" if measured == steps else f"scaled from L={measured}"
            log(f"defense-gan L={steps:<3} R={restarts:<2} batch={batch:<3} median {stats.median_s * 1e3:9.2f} ms ({how})")
    return rows


def run_benchmark(config: BenchConfig, work: Path, log: Log = lambda line: None) -> dict[str, object]:
    """Run the whole suite; exported files and untrained weights go to ``work``. Returns the report dict."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        classifier, sdae, weights = bench_checkpoints(work, config.classifier, config.sdae)
        peak = matmul_peak_gflops(config.peak_size, threads=config.threads)
        log(f"fp32 matmul peak: {peak['gflops']:.1f} GFLOP/s ({config.threads} threads)")
        skipped: dict[str, str] = {}
        rows = _malade_rows(config, classifier, sdae, work, log, skipped)
        rows += _dgan_rows(config, classifier, log)
    finally:
        torch.set_num_threads(previous_threads)
    report: dict[str, object] = {
        "config": asdict(config), "environment": describe_environment(config.threads), "weights": weights,
        "matmul_peak": peak, "backends": {b: DESCRIPTIONS[b] for b in config.backends},
        "skipped": skipped, "defensegan_note": AUTOGRAD_NOTE, "rows": rows,
    }
    report["table6"] = table6(report)
    report["ratios"] = goal_ratios(report)
    report["elapsed_s"] = time.perf_counter() - started
    return report
