"""Options of train-classifier that colour images need: optimiser, schedule, label smoothing, augmentation.

Their defaults reproduce the paper's recipe (Adam, constant rate, no augmentation), so commands
written for Fashion-MNIST train exactly as before.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from ..train.augment import AUGMENTS
from ..train.recipe import OPTIMIZERS, SCHEDULES, Recipe
from .options import option_group


@dataclass(frozen=True)
class ClassifierRecipe:
    """The parsed options: optimiser/schedule recipe, augmentation, memory layout, best-epoch saving."""

    recipe: Recipe
    augment: str
    crop_pad: int
    channels_last: bool
    keep_best: bool

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ClassifierRecipe:
        recipe = Recipe(optimizer=values["optimizer"], momentum=values["momentum"],
                        weight_decay=values["weight_decay"], schedule=values["schedule"], warmup=values["warmup"],
                        label_smoothing=values["label_smoothing"])
        return cls(recipe, values["augment"], values["crop_pad"], values["channels_last"], values["keep_best"])


recipe_options = option_group([
    click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adam", show_default=True),
    click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True,
                 help="Nesterov momentum (sgd-nesterov only)."),
    click.option("--weight-decay", type=click.FloatRange(min=0), default=0.0, show_default=True,
                 help="L2 weight decay (on conv/linear weights with sgd-nesterov)."),
    click.option("--schedule", type=click.Choice(SCHEDULES), default="constant", show_default=True,
                 help="Learning rate over the run: constant, one-cycle (linear up then down) or cosine."),
    click.option("--warmup", type=click.FloatRange(0, 1), default=0.2, show_default=True,
                 help="Fraction of the steps spent rising from lr/10 to lr (onecycle, cosine)."),
    click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=0.0,
                 show_default=True),
    click.option("--augment", type=click.Choice(AUGMENTS), default="none", show_default=True,
                 help="Batch augmentation: random translation by up to --crop-pad pixels and/or left-right flip."),
    click.option("--crop-pad", type=click.IntRange(0), default=2, show_default=True),
    click.option("--channels-last", is_flag=True, help="NHWC memory layout (faster convolutions on CPU)."),
    click.option("--keep-best", is_flag=True,
                 help="Write --out after every epoch that improves validation accuracy (a stopped run "
                 "leaves its best epoch); the finished run overwrites it."),
], into="colour", parse=ClassifierRecipe.parse)
