"""`malade train-gan`: the WGAN-GP generator behind the Defense-GAN baseline."""
from __future__ import annotations

from typing import Any

import click

from ..device import resolve_device
from .common import TerseCommand, command_line, one_line_errors
from .options import DataOptions, RunOptions, data_options, run_options


@click.command("train-gan", cls=TerseCommand)
@click.option("--iterations", default=200_000, show_default=True, type=click.IntRange(1),
              help="Generator updates (Defense-GAN trained 200k).")
@click.option("--critic-steps", default=5, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=50, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=1e-4, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Adam learning rate (betas 0.5, 0.9).")
@click.option("--gp-weight", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="Gradient-penalty weight lambda.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Train on N random training images (seed 0).")
@run_options("Generator checkpoint to write (.safetensors is appended when missing).", out_required=True)
@data_options()
@one_line_errors
def train_gan_cmd(data: DataOptions, run: RunOptions, **kw: Any) -> None:
    """Train Defense-GAN's WGAN-GP on the training split; saves the generator (kind "generator")."""
    from ..checkpoint import save_checkpoint
    from ..data import default_val_size, load_split, random_subset, train_val_split
    from ..train import GanSettings, train_gan
    from ..train.gan import write_sample_grid

    full = load_split(data.dataset, "train", options=data.read_options())
    train, _ = train_val_split(full, val_size=default_val_size(len(full), data.val_size))
    if kw["limit"]:
        train = random_subset(train, kw["limit"])
    settings = GanSettings(iterations=kw["iterations"], batch_size=kw["batch_size"], lr=kw["lr"],
                           critic_steps=kw["critic_steps"], gp_weight=kw["gp_weight"], seed=run.seed,
                           device=resolve_device(run.device))
    result = train_gan(train, settings, dataset=data.dataset, command=command_line(), log=click.echo)
    path = save_checkpoint(result.model, result.config, run.out)
    samples = write_sample_grid(result.model, path.with_suffix(".samples.png"), seed=run.seed)
    click.echo(f"wrote {path} and {samples.name} (64 samples)")
