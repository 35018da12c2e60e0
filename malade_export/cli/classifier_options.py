"""The options that describe a user's classifier, shared by every command that takes one."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..classifier_sources import INPUT_RANGES, OUTPUT_KINDS, InputConventions, parse_floats

CLASSIFIER_HELP = ("Classifier: a malade checkpoint (.safetensors), an ONNX file, a TorchScript file (.pt/.ts), a "
                   "torch.export program (.pt2), or module:callable (imports and runs your code) with "
                   "--classifier-weights.")


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def classifier_options(required: bool = True, help_text: str = CLASSIFIER_HELP) -> Decorator:
    """--classifier and the options saying what it expects: mean/std, input range, output kind."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--classifier", required=required, default=None, help=help_text),
            click.option("--classifier-weights", type=click.Path(dir_okay=False), default=None,
                         help="Safetensors state dict for --classifier module:callable."),
            click.option("--classifier-torch", type=click.Path(dir_okay=False), default=None,
                         help="PyTorch form (TorchScript or .pt2) of an ONNX --classifier, used for gradients "
                              "instead of the built-in twin; checked to agree with ONNX Runtime."),
            click.option("--mean", default=None,
                         help="Per-channel mean the classifier subtracts, e.g. 0.485,0.456,0.406."),
            click.option("--std", default=None,
                         help="Per-channel std the classifier divides by, e.g. 0.229,0.224,0.225."),
            click.option("--input-range", type=click.Choice(INPUT_RANGES), default="0-1", show_default=True,
                         help="Pixel range the classifier takes (before --mean/--std, which are in its units)."),
            click.option("--outputs", type=click.Choice(OUTPUT_KINDS), default="logits", show_default=True,
                         help="What the classifier returns."),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def conventions_from(kw: dict[str, Any]) -> InputConventions:
    """Pop the convention options out of a command's keyword arguments."""
    return InputConventions(parse_floats(kw.pop("mean"), "mean"), parse_floats(kw.pop("std"), "std"),
                            kw.pop("input_range"), kw.pop("outputs"))


def load_cli_classifier(kw: dict[str, Any], input_shape: tuple[int, int, int], data_name: str, num_classes: int,
                        denoiser: str | None = None) -> Any:
    """The command's classifier from any source. Conventions: as declared, else as the (s)DAE was trained with."""
    from ..checkpoint import load_checkpoint
    from ..classifier_sources import check_data, load_classifier

    declared = conventions_from(kw)
    if declared.is_identity and denoiser:
        declared = InputConventions.from_dict(load_checkpoint(denoiser).config.get("classifier_conventions"))
    if str(kw["classifier"]).endswith(".safetensors"):
        declared = declared if not declared.is_identity else InputConventions()
    classifier = load_classifier(kw.pop("classifier"), conventions=declared, input_shape=input_shape,
                                 data_name=data_name, weights=kw.pop("classifier_weights"),
                                 torch_form=kw.pop("classifier_torch"))
    check_data(classifier, input_shape, num_classes, data_name)
    return classifier
