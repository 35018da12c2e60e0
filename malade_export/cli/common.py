"""Pieces every command shares: one-line errors and the command line recorded for provenance."""
from __future__ import annotations

import functools
import shlex
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from ..errors import MaladeError


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
