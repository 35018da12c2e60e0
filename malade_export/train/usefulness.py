"""The check every (s)DAE training ends with: is the network better than doing nothing?

A denoiser that collapsed to a constant image still trains "successfully" (the loss goes down,
then stalls) and, inside the Langevin chain, silently destroys the classifier's accuracy. So on
held-out images we require

* reconstruction MSE < ``MAX_MSE_RATIO`` x the images' own pixel variance (the MSE of the best
  constant output, the held-out set's mean image), and
* for an sDAE, the classifier's accuracy on reconstructions within ``MAX_ACCURACY_DROP`` of its
  accuracy on the clean images.

The result goes into the checkpoint config (``usefulness``); a failed one is written only when
forced, and export refuses it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from torch import nn

from ..data import ImageSet
from ..errors import MaladeError
from .metrics import accuracy, reconstruction_mse

MAX_MSE_RATIO = 0.5
MAX_ACCURACY_DROP = 0.10


@dataclass(frozen=True)
class Usefulness:
    """Held-out numbers behind the verdict; ``passed`` is recorded in the checkpoint config."""

    passed: bool
    images: int
    recon_mse: float
    pixel_variance: float
    max_mse_ratio: float
    clean_accuracy: float | None = None
    recon_accuracy: float | None = None
    max_accuracy_drop: float | None = None

    def summary(self) -> str:
        """One line with the numbers and the thresholds they were held to."""
        text = (f"recon MSE {self.recon_mse:.4f} vs pixel variance {self.pixel_variance:.4f} "
                f"(ratio {self.recon_mse / max(self.pixel_variance, 1e-12):.2f}, must be < {self.max_mse_ratio})")
        if self.clean_accuracy is not None and self.recon_accuracy is not None:
            text += (f"; classifier accuracy {self.recon_accuracy:.1%} on reconstructions vs {self.clean_accuracy:.1%}"
                     f" clean (drop must be < {self.max_accuracy_drop:.0%} points)")
        return f"{text} on {self.images} held-out images"

    def to_config(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def pixel_variance(images: np.ndarray) -> float:
    """Mean per-pixel variance over the set: the MSE of always answering its mean image."""
    return float(images.astype(np.float64).var(axis=0).mean())


def check_usefulness(model: nn.Module, held_out: ImageSet, classifier: nn.Module | None = None,
                     device: str = "cpu") -> Usefulness:
    """Measure ``model`` (a DAE, or an sDAE with its ``classifier``) on ``held_out`` against the thresholds."""
    mse = reconstruction_mse(model, held_out, device)
    variance = pixel_variance(held_out.images)
    passed = mse < MAX_MSE_RATIO * variance
    if classifier is None:
        return Usefulness(passed, len(held_out), mse, variance, MAX_MSE_RATIO)
    clean = accuracy(classifier, held_out, device)
    recon = accuracy(classifier, held_out, device, transform=model)
    passed = passed and clean - recon < MAX_ACCURACY_DROP
    return Usefulness(passed, len(held_out), mse, variance, MAX_MSE_RATIO, clean, recon, MAX_ACCURACY_DROP)


def require_useful(config: dict[str, Any], name: str) -> None:
    """Refuse, in one line, an (s)DAE whose training ended with a failed usefulness check (saved with --force)."""
    verdict = config.get("usefulness")
    if isinstance(verdict, dict) and verdict.get("passed") is False:
        try:
            numbers = Usefulness(**{k: verdict[k] for k in Usefulness.__dataclass_fields__ if k in verdict}).summary()
        except (TypeError, ValueError):
            numbers = "numbers unreadable"
        raise MaladeError(f"{config.get('kind', 'denoiser')} {name} failed its usefulness check when trained "
                          f"({numbers}) and was saved only because of --force; retrain it before exporting")


def enforce(config: dict[str, Any], force: bool) -> None:
    """After training: a failed check is a one-line error (nothing gets written) unless ``force``."""
    verdict = config.get("usefulness", {})
    if verdict.get("passed") is False and not force:
        numbers = Usefulness(**verdict).summary()
        raise MaladeError(f"{config.get('kind', 'denoiser')} training failed its usefulness check: {numbers}; "
                          "no checkpoint written (--force writes it, marked as failed, and export refuses it)")
