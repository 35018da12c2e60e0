"""The one training loop every objective shares: shuffled mini-batches, Adam, a progress bar."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import ImageSet

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Log = Callable[[str], None]


def batches(
    data: ImageSet, batch_size: int, device: torch.device | str = "cpu", rng: np.random.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images, labels) tensors; shuffled when ``rng`` is given."""
    order = rng.permutation(len(data)) if rng is not None else np.arange(len(data))
    for start in range(0, len(order), batch_size):
        index = order[start: start + batch_size]
        yield (
            torch.from_numpy(data.images[index]).to(device),
            torch.from_numpy(data.labels[index]).to(device),
        )


@dataclass(frozen=True)
class FitSettings:
    """What the loop itself needs: epochs, Adam's step and the batches, their seed and device."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    device: torch.device | str


def fit(model: nn.Module, loss_fn: LossFn, train: ImageSet, settings: FitSettings,
        validate: Callable[[], dict[str, float]], log: Log = print, desc: str = "train") -> list[dict[str, float]]:
    """Train ``model`` in place; returns per-epoch history (mean train loss + validation metrics)."""
    epochs, batch_size, device = settings.epochs, settings.batch_size, settings.device
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        steps = (len(train) + batch_size - 1) // batch_size
        bar = tqdm(batches(train, batch_size, device, rng), total=steps, desc=f"{desc} {epoch}/{epochs}", leave=False)
        for images, labels in bar:
            loss = loss_fn(images, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
            bar.set_postfix(loss=f"{total / count:.4f}")
        model.eval()
        record = {"epoch": epoch, "train_loss": total / max(count, 1), **validate()}
        history.append(record)
        log(f"{desc} epoch {epoch}/{epochs}: " + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch"))
    return history
