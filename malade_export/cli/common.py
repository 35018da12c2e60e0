"""Pieces every command shares: one-line errors, data options, the command line for provenance."""
from __future__ import annotations

import functools
import shlex
import signal
import threading
from typing import Any, Callable

import click

from ..errors import MaladeError

DEVICE_CHOICES = ["cpu", "cuda", "auto"]


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: context managers remove what they were writing


class _TerseUsage:
    """Usage errors print only ``Error: ...`` (one line, exit 2), not the usage block; SIGTERM exits cleanly."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return super().main(*args, **kwargs)  # type: ignore[misc]

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


def user_error(exc: MaladeError | OSError) -> click.ClickException:
    """One line for an error the user caused: a MaladeError, or an OSError such as a permission refused."""
    if isinstance(exc, OSError) and not isinstance(exc, MaladeError):
        where = f": {exc.filename}" if exc.filename else ""
        return click.ClickException(f"{exc.strerror or type(exc).__name__}{where}")
    return click.ClickException(" ".join(str(exc).split()))


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a MaladeError or OSError into ``Error: <message>`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MaladeError, OSError) as exc:
            raise user_error(exc) from None

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
