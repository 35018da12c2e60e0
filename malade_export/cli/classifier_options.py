"""The options that describe a user's classifier, shared by every command that takes one."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..classifier_sources.conventions import INPUT_RANGES, OUTPUT_KINDS
from ..classifier_sources.spec import ClassifierSpec
from .options import option_group

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

CLASSIFIER_HELP = ("Classifier: a malade checkpoint (.safetensors), an ONNX file, a TorchScript file (.pt/.ts), a "
                   "torch.export program (.pt2), or module:callable (imports and runs your code) with "
                   "--classifier-weights; see docs/your-own-classifier.md.")


def source_option_list(required: bool = True, help_text: str = CLASSIFIER_HELP,
                       with_classifier: bool = True) -> list[Decorator]:
    """--classifier (unless another group has it) and what it expects: mean/std, input range, output kind."""
    options = [click.option("--classifier", required=required, default=None, help=help_text)] if with_classifier else []
    return options + [
        click.option("--classifier-weights", type=click.Path(dir_okay=False), default=None,
                     help="Safetensors state dict for --classifier module:callable."),
        click.option("--classifier-torch", type=click.Path(dir_okay=False), default=None,
                     help="PyTorch form (TorchScript or .pt2) of an ONNX --classifier, used for gradients instead "
                          "of the built-in twin; checked to agree with ONNX Runtime."),
        click.option("--mean", default=None, help="Per-channel mean the classifier subtracts, e.g. 0.485,0.456,0.406."),
        click.option("--std", default=None, help="Per-channel std the classifier divides by, e.g. 0.229,0.224,0.225."),
        click.option("--input-range", type=click.Choice(INPUT_RANGES), default="0-1", show_default=True,
                     help="Pixel range the classifier takes (before --mean/--std, which are in its units)."),
        click.option("--outputs", type=click.Choice(OUTPUT_KINDS), default="logits", show_default=True,
                     help="What the classifier returns."),
        click.option("--input-shape", default=None, metavar="C,H,W",
                     help="Input shape of a classifier that states none (TorchScript, your module), where neither "
                          "the data nor the sDAE gives it."),
    ]


def _spec(values: dict[str, Any]) -> ClassifierSpec:
    return ClassifierSpec.from_params(values)


def classifier_options(required: bool = True, help_text: str = CLASSIFIER_HELP) -> Decorator:
    """The classifier options, passed to the command as one ``ClassifierSpec`` named ``classifier``."""
    return option_group(source_option_list(required, help_text), "classifier", _spec)
