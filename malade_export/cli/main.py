"""`malade`: the umbrella command: training, export, evaluation and benchmarks."""
from __future__ import annotations

import click

from .. import __version__
from .bench import bench_cmd
from .common import TerseGroup
from .defend import defend_cmd
from .eval import eval_cmd
from .export import main as export_cmd
from .serve import serve_cmd, triton_repo_cmd
from .train import distill_sdae_cmd, train_classifier_cmd, train_dae_cmd, train_sdae_cmd
from .train_gan import train_gan_cmd


@click.group(name="malade", cls=TerseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="malade")
def main() -> None:
    """Malade: train, export, evaluate and benchmark the sDAE + Langevin adversarial defence."""


main.add_command(train_classifier_cmd)
main.add_command(train_dae_cmd)
main.add_command(train_sdae_cmd)
main.add_command(distill_sdae_cmd)
main.add_command(bench_cmd)
main.add_command(eval_cmd)
main.add_command(train_gan_cmd)
main.add_command(defend_cmd)
main.add_command(export_cmd, name="export")  # the same command as `malade-export`
main.add_command(triton_repo_cmd)
main.add_command(serve_cmd)
