"""The latency suite: Malade (N x batch x backend) against Defense-GAN (L, R), in one run, one report."""
from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ..chain import load_defense
from ..checkpoint import load_checkpoint
from ..defenses.defensegan import DefenseGAN, ReconstructionSettings
from ..models.gan import Generator
from .artifacts import bench_checkpoints, export_chain
from .backends import BACKENDS, BackendUnavailable, Runner, make_runner
from .environment import describe_environment
from .flops import chain_macs, defensegan_macs
from .peak import matmul_peak_gflops
from .report import goal_ratios, goal_steps, table6
from .timing import TimingStats, sample_callable, summarize

Log = Callable[[str], None]

AUTOGRAD_NOTE = ("Defense-GAN needs autograd at inference (L x R generator forward + backward passes per image), "
                 "so it runs in PyTorch eager only; it cannot be exported to ONNX/TorchScript/TensorRT as a "
                 "static graph")


@dataclass
class BenchConfig:
    """Everything that decides what is timed; recorded verbatim in the JSON."""

    steps: tuple[int, ...] = (10, 25, 50)
    batches: tuple[int, ...] = (1, 64)
    backends: tuple[str, ...] = BACKENDS.names()
    warmup: int = 3
    reps: int = 30
    budget_s: float = 20.0  # per case, over all rounds; at least 3 repetitions are always made
    rounds: int = 3  # passes over all cases; each case gets reps / rounds repetitions per pass
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
    base = BenchConfig(steps=(10,), warmup=1, reps=5, budget_s=5.0, rounds=1, dgan_measure_steps=10, dgan_reps=2,
                       peak_size=512, quick=True)
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass
class Case:
    """One timed configuration: its report keys, how to build its runner, and the samples so far."""

    keys: dict[str, object]
    make: Callable[[], Runner]
    macs: int
    label: str
    warmup: int
    reps: int
    min_reps: int = 3
    scale: float = 1.0  # Defense-GAN measured at fewer steps than it reports: times scale by passes
    samples: list[float] = field(default_factory=list)
    pass_medians: list[float] = field(default_factory=list)  # seconds; pairs cases timed in the same pass


def _row(stats: TimingStats, macs: int, pass_medians: list[float], **keys: object) -> dict[str, object]:
    flops = 2 * macs
    return {**keys, "median_ms": stats.median_s * 1e3, "pass_medians_ms": [t * 1e3 for t in pass_medians],
            "p90_ms": stats.p90_s * 1e3,
            "p99_ms": stats.p99_s * 1e3, "mean_ms": stats.mean_s * 1e3, "reps": stats.reps,
            "throughput": stats.throughput, "macs_per_sample": macs, "gflop_per_sample": flops / 1e9,
            "gflops": flops * stats.batch / stats.median_s / 1e9}


def _malade_cases(config: BenchConfig, classifier: Path, sdae: Path, work: Path) -> list[Case]:
    cases = []
    for n in config.steps:
        loaded = load_defense(classifier, sdae, steps=n)
        files = export_chain(loaded, work)
        macs = chain_macs(loaded.defense)["total"]
        for batch in config.batches:
            for backend in config.backends:
                cases.append(Case({"kind": "malade", "backend": backend, "steps": n, "batch": batch},
                                  functools.partial(make_runner, backend, files, batch, config.threads), macs,
                                  f"malade N={n:<3} batch={batch:<3} {backend:<20}", config.warmup, config.reps))
    return cases


def defensegan_runner(generator: nn.Module, classifier: nn.Module, input_shape: tuple[int, ...], batch: int,
                      settings: ReconstructionSettings, measure_steps: int) -> tuple[Callable[[], object], int, float]:
    """A timed call of Defense-GAN run at min(L, measure_steps) steps, the steps it runs, and the factor
    (generator passes of L over those of the measured steps, (2L + 1) / (2L_measured + 1)) that scales
    its times up to L: its cost is linear in L, so long settings may be measured shorter."""
    measured = min(settings.steps, measure_steps)
    defense = DefenseGAN(classifier, generator, replace(settings, steps=measured), rng=torch.Generator().manual_seed(0))
    x = torch.rand(batch, *input_shape, generator=torch.Generator().manual_seed(batch))

    def run() -> torch.Tensor:
        with torch.no_grad():  # the projection turns autograd back on for z alone
            return defense(x)

    return run, measured, (2 * settings.steps + 1) / (2 * measured + 1)


def _dgan_cases(config: BenchConfig, classifier: Path) -> list[Case]:
    """(L = dgan_steps, R in dgan_restarts) and, for Table 6, (L = N, R = 1) for each Malade N.

    The generator is untrained: latency does not depend on the weights."""
    clf = load_checkpoint(classifier, "classifier")
    shape = tuple(clf.config["input_shape"])
    generator = Generator(shape[0])
    settings = [(config.dgan_steps, r, "main") for r in config.dgan_restarts]
    settings += [(n, 1, "table6") for n in config.steps if n != config.dgan_steps or 1 not in config.dgan_restarts]
    cases = []
    for batch in config.dgan_batches:
        for steps, restarts, role in settings:
            run, measured, scale = defensegan_runner(generator, clf.model, shape, batch,
                                                     ReconstructionSettings(steps=steps, restarts=restarts),
                                                     config.dgan_measure_steps)
            how = "measured" if measured == steps else f"scaled from L={measured}"
            keys = {"kind": "defensegan", "backend": "pytorch-eager+autograd", "steps": steps, "restarts": restarts,
                    "batch": batch, "role": role, "measured_steps": measured, "extrapolated": measured != steps}
            macs = defensegan_macs(generator, clf.model, steps, restarts)["total"]
            cases.append(Case(keys, lambda run=run: run, macs,  # plain PyTorch: nothing to rebuild per pass
                              f"defense-gan L={steps:<3} R={restarts:<2} batch={batch:<3} ({how})", warmup=1,
                              reps=config.dgan_reps, min_reps=2, scale=scale))
    return cases


def _ratio_pairs_adjacent(malade: list[Case], dgan: list[Case], n: int) -> list[Case]:
    """Defense-GAN right after Malade's batch-1 cases at the goal N, so each pass times the two
    sides of the headline ratio within seconds of each other: this shared machine changes speed
    over minutes, and a pass through all cases takes one or two."""
    def leads(case: Case) -> bool:
        return case.keys["steps"] == n and case.keys["batch"] == 1

    return [c for c in malade if leads(c)] + dgan + [c for c in malade if not leads(c)]


def _time_cases(cases: list[Case], config: BenchConfig, log: Log, skipped: dict[str, str],
                before_pass: Callable[[], None] = lambda: None) -> list[dict[str, object]]:
    """Time every case in ``config.rounds`` passes, one runner alive at a time, and pool the samples.

    Passes spread each case over the whole run, so the machine's drift lands on all cases alike
    instead of on whichever ran during a slow minute; runners are rebuilt per pass (and freed after)
    because a live ONNX Runtime session spins its threads and slows whatever runs next.
    """
    for round_index in range(1, config.rounds + 1):
        before_pass()
        for case in cases:
            backend = str(case.keys["backend"])
            if backend in skipped:
                continue
            try:
                runner = case.make()
            except BackendUnavailable as exc:
                skipped[backend] = str(exc)
                log(f"skip {backend}: {exc}")
                continue
            samples = sample_callable(runner, case.warmup, math.ceil(case.reps / config.rounds),
                                      config.budget_s / config.rounds, math.ceil(case.min_reps / config.rounds))
            del runner
            case.samples += [t * case.scale for t in samples]
            case.pass_medians.append(statistics.median(samples) * case.scale)
            log(f"[{round_index}/{config.rounds}] {case.label} median {case.pass_medians[-1] * 1e3:9.2f} ms "
                f"({len(samples)} reps)")
    rows = []
    for case in cases:
        if case.samples:
            rows.append(_row(summarize(case.samples, int(case.keys["batch"])), case.macs, case.pass_medians,
                             **case.keys))
    return rows


def run_benchmark(config: BenchConfig, work: Path, log: Log = lambda line: None) -> dict[str, object]:
    """Run the whole suite; exported files and untrained weights go to ``work``. Returns the report dict."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        classifier, sdae, weights = bench_checkpoints(work, config.classifier, config.sdae)
        peaks: dict[str, list[dict[str, object]]] = {"fp32": [], "bf16": []}

        def measure_peak() -> None:  # once per pass; the best is the ceiling, like the best of its reps
            for precision, runs in peaks.items():
                runs.append(matmul_peak_gflops(config.peak_size, threads=config.threads, precision=precision))
                libraries = ", ".join(f"{k} {v:.0f}" for k, v in runs[-1]["by_library"].items())  # type: ignore[union-attr]
                log(f"{precision} matmul peak: {runs[-1]['gflops']:.1f} GFLOP/s ({config.threads} threads; "
                    f"{libraries})")

        skipped: dict[str, str] = {}
        rows = _time_cases(_ratio_pairs_adjacent(_malade_cases(config, classifier, sdae, work),
                                                 _dgan_cases(config, classifier), goal_steps(config.steps)),
                           config, log, skipped, measure_peak)
        best = {name: max(runs, key=lambda p: float(p["gflops"])) | {"passes": len(runs)}  # type: ignore[arg-type]
                for name, runs in peaks.items()}
    finally:
        torch.set_num_threads(previous_threads)
    report: dict[str, object] = {
        "config": asdict(config), "environment": describe_environment(config.threads), "weights": weights,
        "matmul_peak": best["fp32"], "matmul_peak_bf16": best["bf16"],
        "backends": {b: BACKENDS.get(b).description for b in config.backends},
        "skipped": skipped, "defensegan_note": AUTOGRAD_NOTE, "rows": rows,
    }
    report["table6"] = table6(report)
    report["ratios"] = goal_ratios(report)
    report["elapsed_s"] = time.perf_counter() - started
    return report
