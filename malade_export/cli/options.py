"""Option groups every command shares, each defined once and handed to the command as one dataclass.

``@data_options()`` gives a command ``data: DataOptions``; ``@chain_options()`` gives
``chain: ChainSettings``; ``@run_options(...)`` gives ``run: RunOptions``; ``@attack_options`` and
``@defense_options`` define ``malade eval``'s options, which the evaluation pipeline reads by name
(``EvalConfig.from_params``) so that a recorded command reruns without this package.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from ..device import DEVICE_CHOICES
from ..schedule import DEFAULT_SCHEDULE

if TYPE_CHECKING:
    from ..chain import ChainSettings

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
PATH = click.Path(dir_okay=False)


class RegistryChoice(click.Choice):
    """A click.Choice over a registry's names, read when first needed: the registry's module (and torch)
    is imported only when a command runs or shows its help, not when the CLI starts."""

    def __init__(self, names: Callable[[], tuple[str, ...]]) -> None:
        self._names = names
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return self._names()

    @choices.setter
    def choices(self, value: Any) -> None:
        pass


class LazyHelpOption(click.Option):
    """An option whose help text is read from a registry when the help is shown, like ``RegistryChoice``."""

    def __init__(self, *args: Any, help_text: Callable[[], str], **kwargs: Any) -> None:
        self._help_text = help_text
        super().__init__(*args, **kwargs)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self._help_text()
        return super().get_help_record(ctx)


def _preset_names() -> tuple[str, ...]:
    from ..chain import PRESETS

    return PRESETS.names()


def _preset_help() -> str:
    from ..chain import DEFAULT_PRESET
    from ..chain.presets import preset_help

    return (f"Bundled classifier + sDAE to use where --classifier / --sdae are not given ({preset_help()}) "
            f"[default: {DEFAULT_PRESET}].")


def preset_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--preset NAME (None: the default preset), for every command that falls back on the bundled weights."""
    return click.option("--preset", cls=LazyHelpOption, help_text=_preset_help, type=RegistryChoice(_preset_names),
                        default=None)(func)


def option_group(options: list[Decorator], into: str | None = None,
                 parse: Callable[[Mapping[str, Any]], Any] | None = None) -> Decorator:
    """Apply ``options``; with ``into``, replace their values by ``parse(values)`` under that one name."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        target = func
        if into is not None and parse is not None:
            probe: Callable[..., Any] = lambda: None  # noqa: E731 - only collects the options' parameter names
            for option in options:
                probe = option(probe)
            names = [param.name for param in probe.__click_params__]  # type: ignore[attr-defined]

            @functools.wraps(func)
            def target(*args: Any, **kwargs: Any) -> Any:
                kwargs[into] = parse({name: kwargs.pop(name) for name in names})
                return func(*args, **kwargs)

        for option in reversed(options):
            target = option(target)
        return target

    return decorate


@dataclass(frozen=True)
class DataOptions:
    dataset: str
    data_dir: str | None
    val_size: int | None  # training images held out for validation (None: 5,000 or a tenth of a smaller set)
    image_size: str | None = None  # "H" or "HxW", parsed by the data layer
    skip_bad_images: bool = False
    test_fraction: float = 0.2

    def read_options(self) -> Any:
        """How the data layer reads ``dataset`` (a ``malade_export.data.ReadOptions``)."""
        from ..data import ReadOptions, parse_image_size

        return ReadOptions(data_dir=self.data_dir, image_size=parse_image_size(self.image_size),
                           skip_bad_images=self.skip_bad_images, test_fraction=self.test_fraction)


DATASET_HELP = ("fashion-mnist, mnist, idx:<folder> (IDX files), folder:<dir> (an image folder, one subfolder per "
                "class), npz:<file> (arrays x, y) or cifar10-bin:<dir> (CIFAR-10's binary batches); see docs/data.md.")


def data_options(val_size: bool = True) -> Decorator:
    """--dataset and how to read it (--data-dir, --image-size, --skip-bad-images, --test-fraction, --val-size)
    -> ``data: DataOptions``."""
    options = [
        click.option("--dataset", default="fashion-mnist", show_default=True, help=DATASET_HELP),
        click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                     help="Folder with the IDX files of fashion-mnist or mnist [default: $MALADE_DATA_DIR, else "
                          "/usr/share/datasets/fashion-mnist for fashion-mnist]."),
        click.option("--image-size", default=None, metavar="H[xW]",
                     help="Resize every image to H x W (bilinear) [default: as stored]."),
        click.option("--skip-bad-images", is_flag=True,
                     help="Skip (and count) unreadable image files instead of stopping at the first."),
        click.option("--test-fraction", default=0.2, show_default=True,
                     type=click.FloatRange(0, 1, min_open=True, max_open=True),
                     help="Share held out (seed 0) as the test split when the data has none of its own."),
    ]
    if val_size:
        options.append(click.option("--val-size", type=click.IntRange(1), default=None,
                                    help="Training images held out (fixed seed) for validation "
                                         "[default: 5000, or a tenth of the training set if smaller]."))
    return option_group(options, "data", lambda v: DataOptions(
        v["dataset"], v["data_dir"], v.get("val_size"), v["image_size"], v["skip_bad_images"], v["test_fraction"]))


SCHEDULE_HELP = (
    "Step sizes as key=value pairs: alpha0, alpha_min (drift, in units of sigma^2: alpha=sigma^2 jumps to r(x)), "
    "delta0, delta_min (noise std), decay=geometric|linear|constant. Unnamed keys keep the sigma-0.3 defaults "
    f"({','.join(f'{k}={v}' for k, v in DEFAULT_SCHEDULE.to_dict().items())}) [default: the schedule the "
    "denoiser records, else those at its sigma: alphas x (sigma/0.3)^2, deltas x sigma/0.3].")


def _chain_option_list() -> list[Decorator]:
    return [
        click.option("--steps", default=10, show_default=True, type=int,
                     help="Langevin steps N, unrolled in the graph (1..1000)."),
        click.option("--schedule", default="", help=SCHEDULE_HELP),
        click.option("--votes", default=1, show_default=True, type=int,
                     help="Independent chains per input; output is the log of their mean probability."),
        click.option("--no-clip", is_flag=True, help="Do not clip x to [0, 1] after each step."),
    ]


def chain_options(parse: bool = True) -> Decorator:
    """--steps / --schedule / --votes / --no-clip -> ``chain: ChainSettings`` (or left by name with parse=False)."""
    if not parse:
        return option_group(_chain_option_list())
    return option_group(_chain_option_list(), "chain", _chain_settings)


def _chain_settings(values: Mapping[str, Any]) -> ChainSettings:
    from ..chain import ChainSettings  # torch: only once a command runs

    return ChainSettings.from_params(values)


@dataclass(frozen=True)
class RunOptions:
    out: str | None
    seed: int
    device: str


def run_options(out_help: str, out_required: bool = False, seed_help: str = "Seed for everything random.",
                parse: bool = True) -> Decorator:
    """--out / --seed / --device -> ``run: RunOptions`` (or left by name with parse=False)."""
    options = [
        click.option("--seed", default=0, show_default=True, help=seed_help),
        click.option("--device", type=click.Choice(DEVICE_CHOICES), default="cpu", show_default=True),
        click.option("--out", required=out_required, type=PATH, default=None, help=out_help),
    ]
    if not parse:
        return option_group(options)
    return option_group(options, "run", lambda v: RunOptions(v["out"], v["seed"], v["device"]))


def _attack_names() -> tuple[str, ...]:
    from ..eval import attack_choices

    return attack_choices()


def attack_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The attack and every attack's knobs (read by ``AttackOptions.from_params``)."""
    options = [
        click.option("--attack", type=RegistryChoice(_attack_names), default="fgsm", show_default=True),
        click.option("--eps", default=0.3, show_default=True, type=click.FloatRange(0, 1), help="L-inf budget."),
        click.option("--bpda", is_flag=True,
                     help="White-box gradients through BPDA (always on for defensegan, which has none)."),
        click.option("--rfgsm-alpha", default=0.05, show_default=True, type=float),
        click.option("--pgd-steps", default=100, show_default=True, type=click.IntRange(1),
                     help="Iterations of PGD and of the APGD attacks (apgd-ce, apgd-dlr, autoattack-rand)."),
        click.option("--pgd-alpha", default=0.01, show_default=True, type=float, help="PGD step size."),
        click.option("--no-random-start", is_flag=True, help="PGD starts at x instead of a random point."),
        click.option("--eot", default=1, show_default=True, type=click.IntRange(1),
                     help="Noise draws averaged per PGD or APGD gradient (Expectation over Transformation)."),
        click.option("--cw-steps", default=100, show_default=True, type=click.IntRange(1)),
        click.option("--cw-lr", default=10.0, show_default=True, type=float),
        click.option("--cw-c", default=100.0, show_default=True, type=float),
        click.option("--sub-rounds", default=6, show_default=True, type=click.IntRange(1),
                     help="Black-box substitute: Jacobian augmentation rounds."),
        click.option("--sub-epochs", default=10, show_default=True, type=click.IntRange(1),
                     help="Black-box substitute: epochs per round."),
        click.option("--sub-lambda", default=0.1, show_default=True, type=float),
        click.option("--sub-arch", type=RegistryChoice(_classifier_names), default="E", show_default=True,
                     help="Black-box substitute architecture: E (Defense-GAN's MLP) for grey digits; a conv "
                          "net (substitute-cnn) for colour images."),
    ]
    return option_group(options)(func)


def _classifier_names() -> tuple[str, ...]:
    from ..models import CLASSIFIERS

    return CLASSIFIERS.names()


def _defense_names() -> tuple[str, ...]:
    from ..defenses import DEFENSES

    return DEFENSES.names()


def _runtime_names() -> tuple[str, ...]:
    from ..defenses import runtime_choices

    return runtime_choices()


def defense_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Which defence from which checkpoints, and where its chain runs (read by ``EvalConfig.from_params``)."""
    options = [
        click.option("--classifier", type=PATH, default=None,
                     help="Classifier: a malade checkpoint, ONNX, TorchScript, .pt2, or module:callable "
                          "(see docs/your-own-classifier.md) [default: the --preset's classifier]."),
        click.option("--defense", type=RegistryChoice(_defense_names), default="malade", show_default=True),
        click.option("--sdae", "--dae", type=PATH, default=None,
                     help="sDAE (malade) or DAE (mala, magnet) checkpoint [default: the --preset's sDAE or DAE]."),
        click.option("--generator", type=PATH, default=None, help="WGAN generator checkpoint (defensegan)."),
        click.option("--runtime", type=RegistryChoice(_runtime_names), default="torch", show_default=True,
                     help="Where the chain's forward pass runs (mala, malade, magnet): torch, or its exported ONNX "
                          "file in a registered runtime; gradients always come from the float32 PyTorch chain."),
        click.option("--gan-steps", default=200, show_default=True, type=click.IntRange(1),
                     help="Defense-GAN projection steps L."),
        click.option("--gan-restarts", default=10, show_default=True, type=click.IntRange(1),
                     help="Defense-GAN random restarts R."),
    ]
    return option_group(options)(func)
