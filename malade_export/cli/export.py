"""`malade-export`: fuse classifier + sDAE + unrolled Langevin chain into one ONNX/TorchScript file."""
from __future__ import annotations

from pathlib import Path

import click

from .. import __version__
from ..errors import MaladeError
from ..schedule import DEFAULT_SCHEDULE, Schedule
from .common import TerseCommand, user_error

SCHEDULE_HELP = (
    "Step sizes as key=value pairs: alpha0, alpha_min (drift, in units of sigma^2: alpha=sigma^2 jumps to r(x)), "
    "delta0, delta_min (noise std), decay=geometric|linear|constant. Unnamed keys keep their defaults "
    f"[default: {','.join(f'{k}={v}' for k, v in DEFAULT_SCHEDULE.to_dict().items())}]."
)


def _format_for(out: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "torchscript" if out.suffix in (".pt", ".pth", ".ts") else "onnx"


def _io_table(fmt: str, noise_mode: str, steps: int, votes: int, shape: list[int], classes: int) -> str:
    c, h, w = shape
    chains = "B" if votes == 1 else f"{votes}*B"
    rows = [("input", "x", "float32", f"[B, {c}, {h}, {w}]")]
    rows.append(("input", "noise", "float32", f"[{steps}, {chains}, {c}, {h}, {w}]") if noise_mode == "input"
                else ("input", "seed", "int64", "[B]"))
    rows += [("output", "logits", "float32", f"[B, {classes}]"), ("output", "purified", "float32", f"[B, {c}, {h}, {w}]"),
             ("output", "score", "float32", "[B]")]
    lines = [f"  {'':6}  {'name':8}  {'dtype':7}  shape"] + [f"  {k:6}  {n:8}  {d:7}  {s}" for k, n, d, s in rows]
    return "\n".join(lines)


@click.command(name="malade-export", cls=TerseCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--steps", default=10, show_default=True, type=int, help="Langevin steps N, unrolled in the graph (1..1000).")
@click.option("--classifier", type=click.Path(dir_okay=False), default=None,
              help="Classifier checkpoint [default: bundled classifier A, Fashion-MNIST].")
@click.option("--sdae", type=click.Path(dir_okay=False), default=None,
              help="sDAE (or DAE, giving Mala) checkpoint [default: the bundled 48-channel sDAE trained under "
                   "classifier A].")
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default=None,
              help="Output format [default: torchscript for .pt/.pth/.ts, else onnx].")
@click.option("--noise", "noise_mode", type=click.Choice(["input", "seed"]), default="input", show_default=True,
              help="input: the graph takes a `noise` tensor (every runtime, TensorRT included); "
                   "seed: it takes int64 `seed` [B] and makes bit-reproducible noise itself.")
@click.option("--votes", default=1, show_default=True, type=int,
              help="Independent chains per input; output is the log of their mean probability.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16"]), default="fp32", show_default=True,
              help="fp16 computes in half precision behind float32 I/O (ONNX only; for GPU runtimes).")
@click.option("--target", type=click.Choice(["onnxruntime", "openvino", "tensorrt"]), default=None,
              help="Runtime the ONNX operators are chosen for (same outputs): onnxruntime rewrites the denoiser's "
                   "convolutions into a spelling ONNX Runtime's CPU provider runs about 2x faster; openvino and "
                   "tensorrt (also for ORT's CUDA provider) keep them as trained.  [default: tensorrt with "
                   "--trt-engine or --dtype fp16, else onnxruntime]")
@click.option("--opset", default=18, show_default=True, type=int, help="ONNX opset (13..21).")
@click.option("--schedule", "schedule_text", default="", help=SCHEDULE_HELP)
@click.option("--magnet", is_flag=True, help="Export MagNet instead: one noiseless step to r(x) (use with a DAE).")
@click.option("--no-clip", is_flag=True, help="Do not clip x to [0, 1] after each step.")
@click.option("--no-verify", is_flag=True, help="Skip running the written file against PyTorch.")
@click.option("--trt-engine", type=click.Path(dir_okay=False), default=None,
              help="Also build a TensorRT engine (plan file) from the ONNX (needs TensorRT and a GPU).")
@click.version_option(__version__, prog_name="malade-export")
def main(out: str, steps: int, classifier: str | None, sdae: str | None, fmt: str | None, noise_mode: str, votes: int,
         dtype: str, target: str | None, opset: int, schedule_text: str, magnet: bool, no_clip: bool,
         no_verify: bool, trt_engine: str | None) -> None:
    """Export the Malade defence (sDAE purification + classifier) as ONE graph file OUT.

    \b
    Example:  malade-export --steps 10 out.onnx
    Inputs `x` and `noise` (or `seed`); outputs `logits`, `purified`, `score`.
    """
    if target is None:  # the CPU rewrite is for ONNX Runtime's CPU provider; GPU exports keep the trained graph
        target = "tensorrt" if trt_engine or dtype == "fp16" else "onnxruntime"
    try:
        _export(Path(out), steps, classifier, sdae, fmt, noise_mode, votes, dtype, target, opset, schedule_text,
                magnet, not no_clip, not no_verify, trt_engine)
    except (MaladeError, OSError) as exc:
        raise user_error(exc) from None


def _export(out: Path, steps: int, classifier: str | None, sdae: str | None, fmt: str | None, noise_mode: str,
            votes: int, dtype: str, target: str, opset: int, schedule_text: str, magnet: bool, clip: bool,
            verify: bool, trt_engine: str | None) -> None:
    from ..atomic import check_output
    from ..export import export_defense
    from ..loading import load_defense

    fmt = _format_for(out, fmt)
    check_output(out)  # before minutes of tracing: a folder that cannot take the file fails first
    if trt_engine:
        if noise_mode == "seed":
            raise MaladeError("--trt-engine needs --noise input: TensorRT has no unsigned 64-bit integers, "
                              "which seed mode's noise generator computes in")
        from ..runtime.trt import require_tensorrt

        require_tensorrt()
        if fmt != "onnx":
            raise MaladeError("--trt-engine needs --format onnx")
    schedule = Schedule.parse(schedule_text)
    loaded = load_defense(classifier, sdae, steps=steps, schedule=schedule, clip=clip, votes=votes, magnet=magnet)
    result = export_defense(loaded, out, fmt, noise_mode, dtype, opset, verify, target)
    chain = loaded.defense
    click.echo(f"wrote {result.path} ({fmt}, {result.size_bytes / 1e6:.2f} MB): {chain.steps} steps, sigma={chain.sigma}, "
               f"noise={noise_mode}, votes={votes}, dtype={dtype}" + (f", target={target}" if fmt == "onnx" else ""))
    click.echo(_io_table(fmt, noise_mode, chain.steps, votes, list(chain.input_shape),
                         int(loaded.classifier.config.get("num_classes", 10))))
    if result.report:
        r = result.report
        click.echo(f"verified with {r.runtime} at batch {', '.join(map(str, r.batches))}: "
                   f"max |dlogits| = {r.max_abs_logits:.2e}, max |dpurified| = {r.max_abs_purified:.2e}")
    if trt_engine:
        from ..runtime.trt import build_engine

        plan = build_engine(result.path, trt_engine)
        click.echo(f"wrote TensorRT engine {plan}")
