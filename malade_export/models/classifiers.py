"""Classifiers A-E of Defense-GAN (reused by the Malade paper), for any input C x H x W.

Each builder takes the input shape so the flattened width of the first Linear layer is computed
here, not hard-coded for 28 x 28: a 3 x 32 x 32 input builds and runs too.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..registry import Registry

Shape = tuple[int, int, int]
ClassifierBuilder = Callable[[Shape, int], nn.Sequential]

CLASSIFIERS: Registry[ClassifierBuilder] = Registry("classifier architecture")


def _flat_width(features: nn.Module, input_shape: Shape) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *input_shape)).flatten(1).shape[1])


def _conv_head(features: nn.Sequential, head: Callable[[int], list[nn.Module]], input_shape: Shape) -> nn.Sequential:
    width = _flat_width(features, input_shape)
    return nn.Sequential(*features, nn.Flatten(), *head(width))


@CLASSIFIERS.register("A")
def classifier_a(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Conv64 5x5 same - Conv64 5x5/2 valid - Dropout .25 - FC128 - Dropout .5 - FC."""
    c = input_shape[0]
    features = nn.Sequential(nn.Conv2d(c, 64, 5, 1, 2), nn.ReLU(), nn.Conv2d(64, 64, 5, 2, 0), nn.ReLU())
    return _conv_head(
        features,
        lambda w: [nn.Dropout(0.25), nn.Linear(w, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, num_classes)],
        input_shape,
    )


@CLASSIFIERS.register("B")
def classifier_b(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Dropout .2 - Conv64 8x8/2 same - Conv128 6x6/2 valid - Conv128 5x5 valid - Dropout .5 - FC."""
    c = input_shape[0]
    features = nn.Sequential(
        nn.Dropout(0.2),
        nn.Conv2d(c, 64, 8, 2, 3), nn.ReLU(),
        nn.Conv2d(64, 128, 6, 2, 0), nn.ReLU(),
        nn.Conv2d(128, 128, 5, 1, 0), nn.ReLU(),
        nn.Dropout(0.5),
    )
    return _conv_head(features, lambda w: [nn.Linear(w, num_classes)], input_shape)


@CLASSIFIERS.register("C")
def classifier_c(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Conv128 3x3 same - Conv64 5x5/2 valid - Dropout .25 - FC128 - Dropout .5 - FC."""
    c = input_shape[0]
    features = nn.Sequential(nn.Conv2d(c, 128, 3, 1, 1), nn.ReLU(), nn.Conv2d(128, 64, 5, 2, 0), nn.ReLU())
    return _conv_head(
        features,
        lambda w: [nn.Dropout(0.25), nn.Linear(w, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, num_classes)],
        input_shape,
    )


def _mlp(input_shape: Shape, num_classes: int, dropout: bool) -> nn.Sequential:
    width = input_shape[0] * input_shape[1] * input_shape[2]
    drop: list[nn.Module] = [nn.Dropout(0.5)] if dropout else []
    return nn.Sequential(
        nn.Flatten(), nn.Linear(width, 200), nn.ReLU(), *drop,
        nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, num_classes)
    )


@CLASSIFIERS.register("D")
def classifier_d(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """FC200 - Dropout .5 - FC200 - FC: the fully connected classifier."""
    return _mlp(input_shape, num_classes, dropout=True)


@CLASSIFIERS.register("E")
def classifier_e(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """D without dropout: the black-box attacker's substitute."""
    return _mlp(input_shape, num_classes, dropout=False)

