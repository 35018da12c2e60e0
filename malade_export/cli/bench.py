"""`malade bench`: time Malade (N x batch x backend) against Defense-GAN and write JSON / Markdown / PNG."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..atomic import refuse_overwrite
from ..errors import MaladeError
from .common import TerseCommand, one_line_errors
from .options import preset_option


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise MaladeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise MaladeError(f"expected positive integers, got {text!r}")
    return values


DEFAULT_OUT_DIR = "runs/bench"  # git-ignored: a run never replaces the committed results/bench by default


def _devices(text: str) -> tuple[str, ...]:
    if text.strip() == "none":
        return ()
    devices = tuple(part.strip() for part in text.split(",") if part.strip())
    if not devices or any(d not in ("cpu", "cuda") for d in devices):
        raise MaladeError(f"--dgan-devices takes cpu and/or cuda, or none, got {text!r}")
    return devices


@click.command("bench", cls=TerseCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="About 2 minutes: N=10 only, few repetitions, Defense-GAN measured "
                                            "at 10 steps and scaled to L.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=DEFAULT_OUT_DIR, show_default=True,
              help="Where latency.json / latency.md / latency.png go (exported models go to OUT_DIR/work); "
                   "existing result files there are kept unless --force.")
@click.option("--force", is_flag=True, help="Overwrite latency.json / .md / .png already in --out-dir.")
@click.option("--steps", default=None, help="Malade chain lengths N [default: 10,25,50; quick: 10].")
@click.option("--batches", default=None, help="Batch sizes [default: 1,64].")
@click.option("--backends", default=None, help="Comma-separated subset of the registered backends (a wrong name "
                                               "lists them) [default: all; absent ones are recorded as skipped].")
@click.option("--reps", default=None, type=int, help="Timed repetitions per case [default: 30; quick: 5].")
@click.option("--warmup", default=None, type=int, help="Untimed warm-up calls per case [default: 3; quick: 1].")
@click.option("--budget", "budget_s", default=None, type=float, help="Seconds per case before stopping early "
                                                                     "(>= 3 reps always) [default: 20; quick: 5].")
@click.option("--rounds", default=None, type=click.IntRange(1),
              help="Passes over all cases, reps / rounds each, so drift hits every case alike [default: 3; quick: 1].")
@click.option("--threads", default=None, type=int, help="Intra-op threads for PyTorch and ORT [default: torch's].")
@click.option("--dgan-steps", default=200, show_default=True, help="Defense-GAN gradient steps L.")
@click.option("--dgan-restarts", default="1,10", show_default=True, help="Defense-GAN restarts R to time.")
@click.option("--dgan-measure-steps", default=None, type=int,
              help="Measure Defense-GAN at this many steps and scale linearly to L [default: L; quick: 10].")
@click.option("--dgan-batches", default="1", show_default=True,
              help="Batch sizes for Defense-GAN (64 at R=10 is slow).")
@click.option("--dgan-devices", default="cpu", show_default=True,
              help="Where Defense-GAN runs: cpu, cuda, cpu,cuda, or none to time Malade alone (cuda is recorded "
                   "as skipped without a GPU).")
@preset_option
@click.option("--classifier", type=click.Path(dir_okay=False), default=None,
              help="Classifier checkpoint [default: the --preset's; for fashion-mnist without its files, an untrained "
                   "arch A].")
@click.option("--sdae", type=click.Path(dir_okay=False), default=None,
              help="sDAE checkpoint [default: the --preset's, else as --classifier].")
@one_line_errors
def bench_cmd(quick: bool, out_dir: str, force: bool, **options: Any) -> None:
    """Latency of Malade (PyTorch eager, TorchScript, ONNX Runtime, GPU runtimes when present) vs Defense-GAN.

    \b
    Example:  malade bench --quick --out-dir runs/bench
              malade bench --quick --preset cifar10 --dgan-devices none --out-dir runs/bench_cifar10
    Prints the goal ratios at the end; see latency.md for the tables.
    """
    from ..bench import (
        BenchConfig,
        format_ratios,
        quick_config,
        run_benchmark,
        write_report,
    )
    from ..bench.report import REPORT_FILES

    overrides = _overrides(options, quick)
    config = quick_config(**overrides) if quick else BenchConfig(**overrides)  # type: ignore[arg-type]
    if config.threads < 1 or config.reps < 1 or config.warmup < 0 or config.dgan_measure_steps < 1:
        raise MaladeError("--threads, --reps and --dgan-measure-steps must be >= 1, --warmup >= 0")
    out = Path(out_dir)
    refuse_overwrite([out / name for name in REPORT_FILES], force)
    report = run_benchmark(config, out / "work", log=click.echo)
    for path in write_report(report, out):
        click.echo(f"wrote {path}")
    click.echo(format_ratios(report))


def _overrides(options: dict[str, Any], quick: bool) -> dict[str, object]:
    """``BenchConfig`` fields from the command line; options left out keep the full or quick defaults."""
    from ..bench.backends import BACKENDS
    from ..chain import DEFAULT_PRESET

    overrides: dict[str, object] = {
        "dgan_steps": options["dgan_steps"], "dgan_restarts": _ints(options["dgan_restarts"]),
        "dgan_batches": _ints(options["dgan_batches"]), "dgan_devices": _devices(options["dgan_devices"]),
        "classifier": options["classifier"], "sdae": options["sdae"], "preset": options["preset"] or DEFAULT_PRESET}
    for key in ("steps", "batches"):
        if options[key]:
            overrides[key] = _ints(options[key])
    for key in ("reps", "warmup", "budget_s", "rounds", "threads", "dgan_measure_steps"):
        if options[key] is not None:
            overrides[key] = options[key]
    if options["backends"]:
        chosen = tuple(b.strip() for b in options["backends"].split(",") if b.strip())
        unknown = [b for b in chosen if b not in BACKENDS]
        if unknown:
            raise MaladeError(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
        overrides["backends"] = chosen
    if "dgan_measure_steps" not in overrides and not quick:
        overrides["dgan_measure_steps"] = options["dgan_steps"]
    return overrides
