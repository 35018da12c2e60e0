"""The one training loop every objective shares: shuffled mini-batches, a recipe's optimiser, a progress bar."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import ImageSet
from .augment import Augment
from .recipe import Recipe, make_optimizer, make_scheduler

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
    """What the loop itself needs: epochs, the step (``recipe``: optimiser and schedule, default Adam at
    a constant ``lr``), the batches (their seed, device, ``augment`` transform) and the memory layout."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    device: torch.device | str
    recipe: Recipe = field(default_factory=Recipe)
    augment: Augment | None = None
    channels_last: bool = False
    time_budget_s: float | None = None  # stop before an epoch that would end past it (a lent GPU's minutes)


def _epoch_fits(started: float, history: list[dict[str, float]], budget: float | None) -> bool:
    """Whether one more epoch, as long as the longest so far (validation included), ends within ``budget``."""
    if budget is None or not history:
        return True
    longest = max(r["train_seconds"] + r.get("validate_seconds", 0.0) for r in history)
    return time.perf_counter() - started + longest <= budget


def fit(model: nn.Module, loss_fn: LossFn, train: ImageSet, settings: FitSettings,
        validate: Callable[[], dict[str, float]], log: Log = print, desc: str = "train",
        on_epoch: Callable[[dict[str, float]], None] | None = None) -> list[dict[str, float]]:
    """Train ``model`` in place; returns per-epoch history (mean train loss, seconds, validation metrics).

    ``on_epoch`` sees each epoch's record (e.g. to keep the best epoch). With ``settings.time_budget_s``
    the loop ends early, between epochs, rather than be killed mid-epoch with nothing saved.
    """
    epochs, batch_size, device, augment = settings.epochs, settings.batch_size, settings.device, settings.augment
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    steps = (len(train) + batch_size - 1) // batch_size
    optimizer = make_optimizer(model, settings.recipe, settings.lr)
    scheduler = make_scheduler(optimizer, settings.recipe, steps * epochs)
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    history: list[dict[str, float]] = []
    fit_started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if not _epoch_fits(fit_started, history, settings.time_budget_s):
            log(f"{desc}: stopped after {epoch - 1}/{epochs} epochs, the next would pass the "
                f"{settings.time_budget_s:g} s time budget")
            break
        model.train()
        total, count = 0.0, 0
        start = time.perf_counter()
        bar = tqdm(batches(train, batch_size, device, rng), total=steps, desc=f"{desc} {epoch}/{epochs}", leave=False)
        for images, labels in bar:
            if augment is not None:
                images = augment(images)
            loss = loss_fn(images.contiguous(memory_format=memory_format), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(labels)
            count += len(labels)
            bar.set_postfix(loss=f"{total / count:.4f}")
        seconds = time.perf_counter() - start
        model.eval()
        record = {"epoch": epoch, "train_loss": total / max(count, 1), "train_seconds": seconds, **validate()}
        record["validate_seconds"] = time.perf_counter() - start - seconds
        history.append(record)
        log(f"{desc} epoch {epoch}/{epochs}: " + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch"))
        if on_epoch is not None:
            on_epoch(record)
    model.to(memory_format=torch.contiguous_format)
    return history
