"""`malade defend`: a user's classifier and images in, one defended ONNX file out."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..classifier_sources.spec import ClassifierSpec
from .classifier_options import classifier_options
from .common import TerseCommand, command_line, one_line_errors
from .options import DataOptions, data_options


@click.command("defend", cls=TerseCommand)
@click.argument("out", type=click.Path(dir_okay=False))
@classifier_options()
@data_options()
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(1), help="sDAE training epochs.")
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", default=0, show_default=True, help="Seeds the split, training and the report's noise.")
@click.option("--sigma", default=0.3, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="sDAE corruption std.")
@click.option("--channels", default=48, show_default=True, type=click.IntRange(1), help="sDAE feature maps.")
@click.option("--steps", default=10, show_default=True, type=click.IntRange(1), help="Langevin steps in the file.")
@click.option("--noise", "noise_mode", type=click.Choice(["input", "seed"]), default="input", show_default=True,
              help="The file takes a `noise` tensor, or int64 `seed` and makes its noise itself.")
@click.option("--n", "eval_n", default=500, show_default=True, type=click.IntRange(1),
              help="Held-out (test) images in the report.")
@click.option("--eps", type=click.FloatRange(0, 1), default=None,
              help="FGSM budget in the report [default: 0.3 for grey images, 8/255 for colour].")
@click.option("--init", type=click.Path(dir_okay=False), default=None,
              help="Warm-start the sDAE from this (s)DAE checkpoint of the same image shape (its width is used).")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Where the sDAE checkpoint is written [default: beside OUT].")
@one_line_errors
def defend_cmd(out: str, classifier: ClassifierSpec, data: DataOptions, **kw: Any) -> None:
    """Train an sDAE for your classifier on your images and export ONE defended ONNX file OUT.

    \b
    Example:  malade defend --classifier model.onnx --dataset folder:imgs/ \\
                  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 defended.onnx
    """
    from ..defend_pipeline import DefendConfig, defend, format_report

    config = DefendConfig(
        classifier=classifier.classifier, dataset=data.dataset, out=Path(out), conventions=classifier.conventions(),
        classifier_weights=classifier.weights, classifier_torch=classifier.torch_form, data=data.read_options(),
        out_dir=Path(kw["out_dir"]) if kw["out_dir"] else None, epochs=kw["epochs"], batch_size=kw["batch_size"],
        lr=kw["lr"], seed=kw["seed"], sigma=kw["sigma"], channels=kw["channels"], steps=kw["steps"],
        noise_mode=kw["noise_mode"], val_size=data.val_size, eval_n=kw["eval_n"], eps=kw["eps"], init=kw["init"],
        command=command_line())
    report = defend(config, log=click.echo)
    click.echo(format_report(report))
