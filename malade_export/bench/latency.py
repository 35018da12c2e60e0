"""The latency suite: Malade (N x batch x backend) against Defense-GAN (L, R), in one run, one report."""
from __future__ import annotations

import copy
import functools
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ..chain import DEFAULT_PRESET, load_defense
from ..checkpoint import check_config, load_checkpoint
from ..defenses.defensegan import DefenseGAN, ReconstructionSettings
from ..errors import MaladeError
from ..models.gan import IMAGE_SIDE, Generator
from .artifacts import bench_checkpoints, chain_files, export_chain
from .backends import BACKENDS, BackendUnavailable, Runner, make_runner
from .environment import describe_environment
from .flops import chain_macs, defensegan_macs
from .peak import matmul_peak_gflops
from .report import goal_ratios, goal_steps, table6
from .timing import TimingStats, sample_callable, summarize

Log = Callable[[str], None]

DGAN_BACKENDS = {"cpu": "pytorch-eager+autograd", "cuda": "pytorch-cuda+autograd"}  # the rows' "backend"
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
    dgan_devices: tuple[str, ...] = ("cpu",)  # "cuda" too for Defense-GAN on the GPU
    peak_size: int = 1024
    cuda_peak_size: int = 8192  # the GPU matmul peak, measured where a CUDA backend is timed
    classifier: str | None = None
    sdae: str | None = None
    preset: str = DEFAULT_PRESET  # where the classifier and sDAE not given come from
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
        exported = any(not BACKENDS.get(b).in_memory for b in config.backends)
        files = export_chain(loaded, work) if exported else chain_files(loaded.defense, work)
        macs = chain_macs(loaded.defense)["total"]
        for batch in config.batches:
            for backend in config.backends:
                cases.append(Case({"kind": "malade", "backend": backend, "steps": n, "batch": batch},
                                  functools.partial(make_runner, backend, files, batch, config.threads), macs,
                                  f"malade N={n:<3} batch={batch:<3} {backend:<20}", config.warmup, config.reps))
    return cases


def _first(build: Callable[..., tuple[Runner, int, float]], *args: object) -> Runner:
    return build(*args)[0]


def measured_steps(settings: ReconstructionSettings, measure_steps: int) -> tuple[int, float]:
    """The steps Defense-GAN is run at, min(L, measure_steps), and the factor (generator passes of L over
    those of the measured steps, (2L + 1) / (2L_measured + 1)) that scales its times up to L: its cost is
    linear in L, so long settings may be measured shorter."""
    measured = min(settings.steps, measure_steps)
    return measured, (2 * settings.steps + 1) / (2 * measured + 1)


def defensegan_runner(generator: nn.Module, classifier: nn.Module, input_shape: tuple[int, ...], batch: int,
                      settings: ReconstructionSettings, measure_steps: int,
                      device: str = "cpu") -> tuple[Callable[[], object], int, float]:
    """A timed call of Defense-GAN on ``device`` run at ``measured_steps`` steps, the steps it runs, and the
    factor that scales its times up to L. On CUDA the call waits for the GPU before it returns."""
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable(f"torch {torch.__version__} sees no CUDA device")
    measured, scale = measured_steps(settings, measure_steps)
    if device != "cpu":  # copies: the CPU cases keep using the originals
        generator, classifier = copy.deepcopy(generator), copy.deepcopy(classifier)
    defense = DefenseGAN(classifier, generator, replace(settings, steps=measured),
                         rng=torch.Generator(device=device).manual_seed(0)).to(device)
    x = torch.rand(batch, *input_shape, generator=torch.Generator().manual_seed(batch)).to(device)
    wait = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run() -> torch.Tensor:
        with torch.no_grad():  # the projection turns autograd back on for z alone
            logits = defense(x)
        wait()
        return logits

    return run, measured, scale


def _dgan_cases(config: BenchConfig, classifier: Path) -> list[Case]:
    """(L = dgan_steps, R in dgan_restarts) and, for Table 6, (L = N, R = 1) for each Malade N, per device.

    The generator is untrained: latency does not depend on the weights."""
    clf = load_checkpoint(classifier, "classifier")
    shape = tuple(clf.config["input_shape"])
    if config.dgan_devices and shape[1:] != IMAGE_SIDE:
        raise MaladeError(f"Defense-GAN's generator makes {IMAGE_SIDE[0]}x{IMAGE_SIDE[1]} images, this "
                          f"classifier takes {shape[1]}x{shape[2]}; time Malade alone with --dgan-devices none")
    generator = Generator(shape[0])
    settings = [(config.dgan_steps, r, "main") for r in config.dgan_restarts]
    settings += [(n, 1, "table6") for n in config.steps if n != config.dgan_steps or 1 not in config.dgan_restarts]
    cases = []
    for device in config.dgan_devices:
        for batch in config.dgan_batches:
            for steps, restarts, role in settings:
                recon = ReconstructionSettings(steps=steps, restarts=restarts)
                measured, scale = measured_steps(recon, config.dgan_measure_steps)
                how = "measured" if measured == steps else f"scaled from L={measured}"
                keys = {"kind": "defensegan", "backend": DGAN_BACKENDS[device], "steps": steps,
                        "restarts": restarts, "batch": batch, "role": role, "measured_steps": measured,
                        "extrapolated": measured != steps}
                macs = defensegan_macs(generator, clf.model, steps, restarts)["total"]
                make = functools.partial(_first, defensegan_runner, generator, clf.model, shape, batch, recon,
                                         config.dgan_measure_steps, device)
                cases.append(Case(keys, make, macs, f"defense-gan {device:<4} L={steps:<3} R={restarts:<2} "
                                                    f"batch={batch:<3} ({how})",
                                  warmup=1, reps=config.dgan_reps, min_reps=2, scale=scale))
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


def _best_cuda_peaks(runs: list[dict[str, object]]) -> dict[str, object] | None:
    """Per precision, the best over passes (like the CPU peak); None where no GPU peak was measured."""
    if not runs:
        return None
    gflops = {name: max(float(run["gflops"][name]) for run in runs) for name in runs[0]["gflops"]}  # type: ignore[index]
    return {**runs[0], "gflops": gflops, "passes": len(runs)}


def run_benchmark(config: BenchConfig, work: Path, log: Log = lambda line: None) -> dict[str, object]:
    """Run the whole suite; exported files and untrained weights go to ``work``. Returns the report dict."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        classifier, sdae, weights = bench_checkpoints(work, config.classifier, config.sdae, config.preset)
        peaks: dict[str, list[dict[str, object]]] = {"fp32": [], "bf16": []}

        def measure_peak() -> None:  # once per pass; the best is the ceiling, like the best of its reps
            for precision, runs in peaks.items():
                runs.append(matmul_peak_gflops(config.peak_size, threads=config.threads, precision=precision))
                libraries = ", ".join(f"{k} {v:.0f}" for k, v in runs[-1]["by_library"].items())  # type: ignore[union-attr]
                log(f"{precision} matmul peak: {runs[-1]['gflops']:.1f} GFLOP/s ({config.threads} threads; "
                    f"{libraries})")

        cuda_peaks: list[dict[str, object]] = []
        if torch.cuda.is_available() and ("cuda" in config.dgan_devices
                                          or any(BACKENDS.get(b).gpu for b in config.backends)):
            from .cuda_peak import cuda_matmul_peaks

            def measure_peaks() -> None:  # the CPU's, and the GPU's for the CUDA backends
                measure_peak()
                cuda_peaks.append(cuda_matmul_peaks(config.cuda_peak_size))
                log("GPU matmul peaks (GFLOP/s): " + ", ".join(
                    f"{k} {v:.0f}" for k, v in cuda_peaks[-1]["gflops"].items()))  # type: ignore[union-attr]
        else:
            measure_peaks = measure_peak
        skipped: dict[str, str] = {}
        dgan = _dgan_cases(config, classifier)  # first: it refuses a classifier Defense-GAN cannot serve
        rows = _time_cases(_ratio_pairs_adjacent(_malade_cases(config, classifier, sdae, work), dgan,
                                                 goal_steps(config.steps)),
                           config, log, skipped, measure_peaks)
        best = {name: max(runs, key=lambda p: float(p["gflops"])) | {"passes": len(runs)}  # type: ignore[arg-type]
                for name, runs in peaks.items()}
    finally:
        torch.set_num_threads(previous_threads)
    report: dict[str, object] = {
        "config": asdict(config),
        "preset": config.preset if not (config.classifier and config.sdae) else None,
        "input_shape": check_config(classifier, "classifier")["input_shape"],
        "environment": describe_environment(config.threads), "weights": weights,
        "matmul_peak": best["fp32"], "matmul_peak_bf16": best["bf16"],
        "matmul_peak_cuda": _best_cuda_peaks(cuda_peaks),
        "backends": {b: BACKENDS.get(b).description for b in config.backends},
        "skipped": skipped, "defensegan_note": AUTOGRAD_NOTE, "rows": rows,
    }
    report["table6"] = table6(report)
    report["ratios"] = goal_ratios(report)
    report["elapsed_s"] = time.perf_counter() - started
    return report
