"""`malade-export`: fuse classifier + sDAE + unrolled Langevin chain into one ONNX/TorchScript file."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import MaladeError
from .classifier_options import CLASSIFIER_HELP, classifier_options
from .common import TerseCommand, one_line_errors
from .options import RegistryChoice, chain_options, option_group, preset_option

if TYPE_CHECKING:
    from ..chain import ChainSettings
    from ..classifier_sources.spec import ClassifierSpec

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
    rows += [("output", "logits", "float32", f"[B, {classes}]"),
             ("output", "purified", "float32", f"[B, {c}, {h}, {w}]"), ("output", "score", "float32", "[B]")]
    lines = [f"  {'':6}  {'name':8}  {'dtype':7}  shape"] + [f"  {k:6}  {n:8}  {d:7}  {s}" for k, n, d, s in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class ExportSettings:
    """How the file is written: format, noise input, precision, operator spelling, checks."""

    fmt: str | None
    noise_mode: str
    dtype: str
    target: str | None
    opset: int
    verify: bool
    trt_engine: str | None

    @property
    def graph_target(self) -> str:
        """The runtime the ONNX operators are spelled for: GPU exports keep the trained graph."""
        if self.target:
            return self.target
        return "tensorrt" if self.trt_engine or self.dtype == "fp16" else "onnxruntime"


def _graph_targets() -> tuple[str, ...]:
    from ..export.rewrites import GRAPH_TARGETS

    return GRAPH_TARGETS


def _export_settings(v: Mapping[str, Any]) -> ExportSettings:
    return ExportSettings(v["fmt"], v["noise_mode"], v["dtype"], v["target"], v["opset"], not v["no_verify"],
                          v["trt_engine"])


export_options = option_group([
    click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default=None,
                 help="Output format [default: torchscript for .pt/.pth/.ts, else onnx]."),
    click.option("--noise", "noise_mode", type=click.Choice(["input", "seed"]), default="input", show_default=True,
                 help="input: the graph takes a `noise` tensor (every runtime, TensorRT included); "
                      "seed: it takes int64 `seed` [B] and makes bit-reproducible noise itself."),
    click.option("--dtype", type=click.Choice(["fp32", "fp16"]), default="fp32", show_default=True,
                 help="fp16 computes in half precision behind float32 I/O (ONNX only; for GPU runtimes)."),
    click.option("--target", type=RegistryChoice(_graph_targets), default=None,
                 help="Runtime the ONNX operators are chosen for (same outputs): onnxruntime rewrites the denoiser's "
                      "convolutions into a spelling ONNX Runtime's CPU provider runs about 2x faster; openvino and "
                      "tensorrt (also for ORT's CUDA provider) keep them as trained.  [default: tensorrt with "
                      "--trt-engine or --dtype fp16, else onnxruntime]"),
    click.option("--opset", default=18, show_default=True, type=int, help="ONNX opset (13..21)."),
    click.option("--no-verify", is_flag=True, help="Skip running the written file against PyTorch."),
    click.option("--trt-engine", type=click.Path(dir_okay=False), default=None,
                 help="Also build a TensorRT engine (plan file) from the ONNX (needs TensorRT and a GPU)."),
], "settings", _export_settings)


@click.command(name="malade-export", cls=TerseCommand, context_settings={"help_option_names": ["-h", "--help"]})
@one_line_errors  # outermost: the option groups' parsing (a bad --schedule) fails in one line too
@click.argument("out", type=click.Path(dir_okay=False))
@preset_option
@classifier_options(required=False, help_text=CLASSIFIER_HELP + " [default: the --preset's classifier]")
@click.option("--sdae", type=click.Path(dir_okay=False), default=None,
              help="sDAE (or DAE, giving Mala) checkpoint [default: the --preset's sDAE].")
@chain_options()
@click.option("--magnet", is_flag=True, help="Export MagNet instead: one noiseless step to r(x) (use with a DAE).")
@export_options
@click.version_option(__version__, prog_name="malade-export")
def main(out: str, preset: str | None, classifier: ClassifierSpec, sdae: str | None, chain: ChainSettings,
         magnet: bool, settings: ExportSettings) -> None:
    """Export the Malade defence (sDAE purification + classifier) as ONE graph file OUT.

    \b
    Example:  malade-export --steps 10 out.onnx
              malade-export --preset cifar10 cifar10.onnx
    Inputs `x` and `noise` (or `seed`); outputs `logits`, `purified`, `score`.
    """
    _export(Path(out), classifier, sdae, chain, magnet, settings, preset)


def _classifier(spec: ClassifierSpec, sdae: str | None, preset_name: str) -> Any:
    """A path for load_defense (a user's conventions then come from the sDAE), or the classifier loaded as declared."""
    if spec.classifier is None or spec.is_plain:
        return spec.classifier
    from ..chain import preset

    return spec.load(denoiser=sdae or preset(preset_name).sdae)


def _export(out: Path, classifier: ClassifierSpec, sdae: str | None, chain_settings: ChainSettings, magnet: bool,
            settings: ExportSettings, preset_name: str | None = None) -> None:
    from ..atomic import check_output
    from ..chain import DEFAULT_PRESET
    from ..chain.build import load_defense
    from ..export import export_defense

    fmt, noise_mode, target = _format_for(out, settings.fmt), settings.noise_mode, settings.graph_target
    check_output(out)  # before minutes of tracing: a folder that cannot take the file fails first
    if settings.trt_engine:
        if noise_mode == "seed":
            raise MaladeError("--trt-engine needs --noise input: TensorRT has no unsigned 64-bit integers, "
                              "which seed mode's noise generator computes in")
        from ..runtime.trt import require_tensorrt

        require_tensorrt()
        if fmt != "onnx":
            raise MaladeError("--trt-engine needs --format onnx")
    preset_name = preset_name or DEFAULT_PRESET
    loaded = load_defense(_classifier(classifier, sdae, preset_name), sdae, steps=chain_settings.steps,
                          schedule=chain_settings.schedule, clip=chain_settings.clip, votes=chain_settings.votes,
                          magnet=magnet, preset_name=preset_name)
    result = export_defense(loaded, out, fmt, noise_mode, settings.dtype, settings.opset, settings.verify, target)
    chain, votes = loaded.defense, chain_settings.votes
    click.echo(f"wrote {result.path} ({fmt}, {result.size_bytes / 1e6:.2f} MB): {chain.steps} steps, "
               f"sigma={chain.sigma}, noise={noise_mode}, votes={votes}, dtype={settings.dtype}"
               + (f", target={target}" if fmt == "onnx" else "")
               + (f", preset={loaded.preset}" if loaded.preset else ""))
    click.echo(_io_table(fmt, noise_mode, chain.steps, votes, list(chain.input_shape),
                         int(loaded.classifier.config.get("num_classes", 10))))
    if result.report:
        r = result.report
        click.echo(f"verified with {r.runtime} at batch {', '.join(map(str, r.batches))}: "
                   f"max |dlogits| = {r.max_abs_logits:.2e}, max |dpurified| = {r.max_abs_purified:.2e}")
    if settings.trt_engine:
        from ..runtime.trt import build_engine

        plan = build_engine(result.path, settings.trt_engine)
        click.echo(f"wrote TensorRT engine {plan}")
