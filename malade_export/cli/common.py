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


DATASET_HELP = ("fashion-mnist, mnist, idx:<folder> (IDX files), folder:<dir> (an image folder, one subfolder per "
                "class), npz:<file> (arrays x, y) or cifar10-bin:<dir> (CIFAR-10's binary batches); see docs/data.md.")


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--dataset and how to read it (--data-dir, --image-size, --skip-bad-images, --test-fraction)."""
    options = [
        click.option("--dataset", default="fashion-mnist", show_default=True, help=DATASET_HELP),
        click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                     help="Folder with the IDX files of fashion-mnist/mnist [default: $MALADE_DATA_DIR, else "
                          "/usr/share/datasets/fashion-mnist for fashion-mnist]."),
        click.option("--image-size", default=None, metavar="H[xW]",
                     help="Resize every image to H x W (bilinear) [default: as stored]."),
        click.option("--skip-bad-images", is_flag=True,
                     help="Skip (and count) unreadable image files instead of stopping at the first."),
        click.option("--test-fraction", default=0.2, show_default=True, type=click.FloatRange(0, 1, min_open=True,
                                                                                         max_open=True),
                     help="Share held out as the test split when the data has none of its own (seed 0)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def read_options(kw: dict[str, Any]) -> Any:
    """The DataOptions that ``source_options``' values describe."""
    from ..data import DataOptions, parse_image_size

    return DataOptions(data_dir=kw.get("data_dir"), image_size=parse_image_size(kw.get("image_size")),
                       skip_bad_images=bool(kw.get("skip_bad_images")), test_fraction=kw.get("test_fraction", 0.2))


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``source_options`` and --val-size, as every training command takes them."""
    func = click.option("--val-size", type=click.IntRange(1), default=None,
                        help="Training images held out (fixed seed) for validation "
                             "[default: 5000, or a tenth of the training set if smaller].")(func)
    return source_options(func)
