"""WGAN-GP training of Defense-GAN's generator (Gulrajani et al. 2017), as Defense-GAN trained it.

Defaults are Defense-GAN's: Adam 1e-4, betas (0.5, 0.9), 5 critic steps per generator step,
gradient-penalty weight 10, batch 50, 200k generator iterations. Only the generator is kept: it is
all Defense-GAN needs at inference.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..atomic import atomic_path
from ..data import ImageSet
from ..errors import MaladeError
from ..models import build_model
from ..models.gan import LATENT_DIM
from ..provenance import checkpoint_provenance
from .api import Trained
from .loop import Log


@dataclass(frozen=True)
class GanSettings:
    iterations: int = 200_000  # generator updates
    batch_size: int = 50
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    critic_steps: int = 5
    gp_weight: float = 10.0
    latent_dim: int = LATENT_DIM
    seed: int = 0
    device: str = "cpu"


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[(||grad critic(x^)|| - 1)^2] on random interpolates x^ between real and fake images."""
    t = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def train_gan(train: ImageSet, settings: GanSettings = GanSettings(), *, dataset: str = "", command: str = "",
              log: Log = print) -> Trained:
    """Train generator + critic; returns the generator with a "generator" checkpoint config."""
    if train.input_shape[1:] != (28, 28):
        raise MaladeError(f"the Defense-GAN generator makes 28x28 images; this data is {train.input_shape[1:]}")
    if settings.iterations < 1 or settings.critic_steps < 1:
        raise MaladeError("train-gan needs at least one iteration and one critic step")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    shape = list(train.input_shape)
    generator = build_model({"kind": "generator", "input_shape": shape, "latent_dim": settings.latent_dim})
    critic = build_model({"kind": "critic", "input_shape": shape})
    generator.to(settings.device).train()
    critic.to(settings.device).train()
    betas = (settings.beta1, settings.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=settings.lr, betas=betas)
    opt_c = torch.optim.Adam(critic.parameters(), lr=settings.lr, betas=betas)

    def noise() -> torch.Tensor:
        return torch.randn(settings.batch_size, settings.latent_dim, device=settings.device)

    def real_batch() -> torch.Tensor:
        index = rng.integers(0, len(train), settings.batch_size)
        return torch.from_numpy(train.images[index]).to(settings.device)

    bar = tqdm(range(settings.iterations), desc="wgan-gp", unit="it")
    for _ in bar:
        for _ in range(settings.critic_steps):
            real, fake = real_batch(), generator(noise()).detach()
            distance = critic(real).mean() - critic(fake).mean()
            loss_c = -distance + settings.gp_weight * gradient_penalty(critic, real, fake)
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
        loss_g = -critic(generator(noise())).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        bar.set_postfix(w_dist=f"{distance.item():.3f}", g_loss=f"{loss_g.item():.3f}")
    final = {"wasserstein_estimate": distance.item(), "critic_loss": loss_c.item(), "generator_loss": loss_g.item()}
    log("wgan-gp done: " + ", ".join(f"{k}={v:.4f}" for k, v in final.items()))
    config: dict[str, Any] = {
        "kind": "generator", "input_shape": shape, "latent_dim": settings.latent_dim, "dataset": dataset,
        "training": {**asdict(settings), "train_size": len(train), "final": final},
        **checkpoint_provenance(command),
    }
    return Trained(generator.cpu().eval(), config)


@torch.no_grad()
def write_sample_grid(generator: nn.Module, path: str | Path, rows: int = 8, seed: int = 0) -> Path:
    """A rows x rows PNG of generator samples: the quickest honest look at what Defense-GAN can project onto."""
    import matplotlib.image

    torch.manual_seed(seed)
    latent = int(generator.latent_dim)
    images = generator.eval()(torch.randn(rows * rows, latent)).clamp(0, 1).cpu().numpy()
    _, channels, height, width = images.shape
    tiles = images.reshape(rows, rows, channels, height, width).transpose(0, 3, 1, 4, 2)
    grid = tiles.reshape(rows * height, rows * width, channels)
    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, grid[..., 0] if channels == 1 else grid, cmap="gray", vmin=0, vmax=1, format="png")
    return Path(path)
