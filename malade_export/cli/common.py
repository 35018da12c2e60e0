"""Pieces every command shares: one-line errors, data options, the command line for provenance."""
from __future__ import annotations

import functools
import shlex
import sys
from typing import Any, Callable

import click

from ..errors import MaladeError

DEVICE_CHOICES = ["cpu", "cuda", "auto"]


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a MaladeError into ``Error: <message>`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MaladeError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def command_line() -> str:
    """The command as typed, recorded in checkpoints and results so they can be reproduced."""
    return " ".join(shlex.quote(part) for part in [click.get_current_context().find_root().info_name or "malade", *sys.argv[1:]])


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise MaladeError("--device cuda requested but no CUDA device is available")
    return name


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--dataset / --data-dir / --val-size, as every data-reading command takes them."""
    options = [
        click.option("--dataset", default="fashion-mnist", show_default=True,
                     help="fashion-mnist, mnist, or idx:<folder> (any folder of IDX files)."),
        click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                     help="Folder with the IDX files [default: $MALADE_DATA_DIR, else "
                          "/usr/share/datasets/fashion-mnist for fashion-mnist]."),
        click.option("--val-size", default=5000, show_default=True,
                     help="Training images held out (fixed seed) for validation."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
