"""Pieces every command shares: one-line errors and the command line recorded for provenance."""
from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from typing import Any

import click

from ..errors import MaladeError


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
