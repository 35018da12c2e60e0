"""The (s)DAE network of the Malade paper (Appendix B.2): a small conv encoder-decoder.

The same network serves as the unsupervised DAE (Mala, MagNet) and the supervised sDAE (Malade);
only the training objective differs. Channels and kernel are parameters so a lighter variant can
be chosen without new code.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..registry import Registry

Shape = tuple[int, int, int]
DEFAULT_CHANNELS = 64
DEFAULT_KERNEL = 5
DEFAULT_DOWNSAMPLE = 2  # the paper's two stride-2 stages
DOWNSAMPLE_CHOICES = (0, 1, 2)


class DenoisingAutoencoder(nn.Module):
    """Conv-Tanh-Conv-Tanh-ConvT-Tanh-ConvT-Tanh-Conv-Sigmoid; output in [0, 1].

    The paper's network halves the resolution twice (``downsample=2``), which a 28 x 28 grey digit
    survives but a 32 x 32 colour image does not: its 8 x 8 bottleneck blurs away what a CIFAR-10
    classifier needs. ``downsample`` 1 or 0 keeps more resolution; ``skip`` feeds the input beside the
    decoder's features to the last conv, so fine detail need not pass the bottleneck at all.
    Stride-2 stages round odd sizes up, so the decoder output is cropped back to H x W.
    """

    def __init__(self, input_shape: Shape, channels: int = DEFAULT_CHANNELS, kernel: int = DEFAULT_KERNEL,
                 downsample: int = DEFAULT_DOWNSAMPLE, skip: bool = False) -> None:
        super().__init__()
        c, self.height, self.width = input_shape
        self.skip = skip
        pad = kernel // 2
        first, second = (2 if downsample >= 1 else 1), (2 if downsample >= 2 else 1)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, channels, kernel, first, pad), nn.Tanh(),
            nn.Conv2d(channels, channels, kernel, second, pad), nn.Tanh(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, kernel, second, pad, output_padding=second - 1), nn.Tanh(),
            nn.ConvTranspose2d(channels, channels, kernel, first, pad, output_padding=first - 1), nn.Tanh(),
            nn.Conv2d(channels + (c if skip else 0), c, kernel, 1, pad), nn.Sigmoid(),
        )

    @torch.no_grad()
    def start_at_mean(self, mean: float) -> None:
        """Set the output bias to logit(``mean``) so training starts at the data's mean brightness.

        From PyTorch's near-zero bias the output starts at 0.5; on sparse images (most pixels 0) the
        first Adam steps then drove every pre-sigmoid value far below zero, the Sigmoid saturated
        and the network stayed at the all-black image (results/training_collapse/).
        """
        p = min(max(mean, 1e-3), 1 - 1e-3)
        self.decoder[-2].bias.fill_(float(torch.logit(torch.tensor(p))))

    def _crop(self, out: torch.Tensor) -> torch.Tensor:
        if out.shape[-2] != self.height or out.shape[-1] != self.width:
            out = out[..., : self.height, : self.width]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.skip:
            return self._crop(self.decoder(self.encoder(x)))
        features = self._crop(self.decoder[:4](self.encoder(x)))
        return self.decoder[4:](torch.cat([features, x], dim=1))


DenoiserBuilder = Callable[[Shape, dict[str, Any]], nn.Module]
# Checkpoint kinds a chain accepts as its r(x): the same network, trained without ("dae") or with
# ("sdae") the classifier's cross-entropy.
DENOISERS: Registry[DenoiserBuilder] = Registry("denoiser kind")


@DENOISERS.register("dae")
@DENOISERS.register("sdae")
def conv_autoencoder(input_shape: Shape, config: dict[str, Any]) -> DenoisingAutoencoder:
    return DenoisingAutoencoder(input_shape, int(config["channels"]), int(config["kernel"]),
                                int(config.get("downsample", DEFAULT_DOWNSAMPLE)), bool(config.get("skip", False)))
