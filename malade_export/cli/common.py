"""Pieces every command shares: one-line errors, data options, the command line for provenance."""
from __future__ import annotations

import functools
import shlex
from typing import Any, Callable

import click

from ..errors import MaladeError

DEVICE_CHOICES = ["cpu", "cuda", "auto"]


class _TerseUsage:
    """Usage errors print only ``Error: ...`` (one line, exit 2), not the usage block."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def]
        try:
            return super().make_context(info_name, args, parent, **extra)  # type: ignore[misc]
        except click.UsageError as exc:
            exc.ctx = None
            raise


class TerseCommand(_TerseUsage, click.Command):
    pass


class TerseGroup(_TerseUsage, click.Group):
    command_class = TerseCommand


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
    """The command with every effective option (defaults included): recorded so a result can be rerun."""
    ctx = click.get_current_context()
    parts = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value is False:
            continue
        if isinstance(param, click.Argument):
            parts.append(shlex.quote(str(value)))
            continue
        flag = param.opts[0]
        parts += [flag] if value is True else [flag, shlex.quote(str(value))]
    return " ".join(parts)


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
