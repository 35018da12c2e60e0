"""Defense-GAN's WGAN-GP networks (kabkabm/defensegan, MNIST-size): generator and critic.

Only 28 x 28 images: the generator's 4 -> 8 -> crop 7 -> 14 -> 28 ladder is part of the design.
"""
from __future__ import annotations

import torch
from torch import nn

LATENT_DIM = 128
IMAGE_SIDE = (28, 28)  # height, width of every generated image


class Generator(nn.Module):
    """z [B, 128] -> image [B, C, 28, 28] in [0, 1]."""

    def __init__(self, channels: int = 1, latent_dim: int = LATENT_DIM) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.project = nn.Sequential(nn.Linear(latent_dim, 4 * 4 * 256), nn.ReLU())
        self.up1 = nn.Sequential(nn.ConvTranspose2d(256, 128, 5, 2, 2, output_padding=1), nn.ReLU())
        self.up2 = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, 5, 2, 2, output_padding=1), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.up1(self.project(z).reshape(-1, 256, 4, 4))  # 8 x 8
        return self.up2(h[:, :, :7, :7])  # crop to 7 x 7, then 14 -> 28


class Critic(nn.Module):
    """Image -> unbounded score (WGAN critic: no sigmoid, no batch norm, for the gradient penalty)."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 64, 5, 2, 2), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 256, 5, 2, 2), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(4 * 4 * 256, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
