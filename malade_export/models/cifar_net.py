"""A small CIFAR-10 classifier cheap enough to train on a CPU: airbench's layout, narrower.

The layout follows Keller Jordan's airbench (conv - maxpool - BN - GELU - conv - BN - GELU per
block, a global max-pool head) without its whitening stem: one conv at full resolution, so about
64 MFLOP per 32 x 32 image forward (the activations, not the FLOPs, bound its speed on a CPU).

The network takes pixels in [0, 1] like every malade classifier; its first module is a fixed
per-channel mean/std normalisation, and ``body`` alone is what a user holds (the TorchScript
and ONNX files export ``body``, which expects normalised input).
"""
from __future__ import annotations

import torch
from torch import nn

from .classifiers import CLASSIFIERS

Shape = tuple[int, int, int]

# Per-channel mean and std of the 50,000 training images of CIFAR-10, JPEG copy (../shared/data).
CIFAR10_MEAN = (0.4913, 0.4821, 0.4465)
CIFAR10_STD = (0.2452, 0.2428, 0.2606)
WIDTHS = (0, 48, 96, 128)  # stem (0: none), blocks 1-3


class Normalize(nn.Module):
    """(x - mean) / std per channel with fixed buffers, so the checkpoint takes [0, 1] pixels."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _conv_bn(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers + [nn.BatchNorm2d(c_out), nn.GELU()]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(*_conv_bn(c_in, c_out, pool=True), *_conv_bn(c_out, c_out, pool=False))


class AirbenchSmall(nn.Module):
    """normalize -> body (optional stem, three blocks halving the resolution, max-pool, linear)."""

    def __init__(self, input_shape: Shape, num_classes: int, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        channels = input_shape[0]
        mean = CIFAR10_MEAN if channels == 3 else (0.5,) * channels
        std = CIFAR10_STD if channels == 3 else (0.25,) * channels
        self.normalize = Normalize(mean, std)
        stem, *blocks = widths
        layers: list[nn.Module] = _conv_bn(channels, stem, pool=False) if stem else []
        for c_in, c_out in zip((stem or channels, *blocks[:-1]), blocks, strict=True):
            layers.append(_block(c_in, c_out))
        layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.normalize(x))


@CLASSIFIERS.register("airbench-small")
def airbench_small(input_shape: Shape, num_classes: int) -> AirbenchSmall:
    """Airbench-style CIFAR-10 net, block widths 48/96/128, [0, 1] input (normalised inside)."""
    return AirbenchSmall(input_shape, num_classes)


@CLASSIFIERS.register("substitute-cnn")
def substitute_cnn(input_shape: Shape, num_classes: int) -> nn.Sequential:
    """Conv32 3x3 - pool - Conv64 3x3 - pool - FC128 - FC: the black-box substitute for colour images.

    Defense-GAN's substitute E is a fully connected net sized for grey digits; a colour attacker
    would use convolutions, and this one (about 6 M MAC at 32 x 32) retrains cheaply in each of the
    six Jacobian-augmentation rounds on a CPU.
    """
    c, h, w = input_shape
    return nn.Sequential(
        nn.Conv2d(c, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU(), nn.Linear(128, num_classes),
    )
