"""What every runtime's session shares: input validation, noise feeds and the ``predict`` result.

A runtime subclass only loads the file and runs one feed dict; so ONNX Runtime and OpenVINO
sessions refuse the same bad inputs with the same messages and draw their noise the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..noise import fresh_seeds, seeded_noise
from ..registry import Registry
from .guard import OUTPUTS, TensorSpec, check_contract, check_max_batch, check_outputs, check_seeds, default_max_batch

__all__ = ["OUTPUTS", "DefenseSession", "Prediction", "TensorSpec"]


@dataclass
class Prediction:
    logits: np.ndarray  # [B, K]
    probabilities: np.ndarray  # [B, K]
    labels: np.ndarray  # [B]
    purified: np.ndarray  # [B, C, H, W]
    score: np.ndarray  # [B] off-manifold score (large = suspicious)
    seeds: np.ndarray  # [B] the seeds that made this call's noise: pass them back to reproduce it
    class_names: tuple[str, ...] | None = None  # the file's malade.class_names, index = class id
    label_names: list[str] | None = None  # [B] class_names[labels[i]], when the file names its classes


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class DefenseSession:
    """A loaded defence file: ``predict(x)``; subclasses set the fields below and implement ``run``."""

    path: Path
    metadata: dict[str, Any]
    noise_mode: str  # "input" (the graph takes `noise`) or "seed" (it takes int64 `seed`)
    input_shape: tuple[int, ...]
    steps: int
    votes: int
    clip_input: bool
    max_batch: int  # the most images one predict call takes
    class_names: tuple[str, ...] | None

    def _describe_graph(self, path: Path, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                        metadata: dict[str, Any], clip_input: bool, max_batch: int | None) -> None:
        """Check the file is a malade-export graph that agrees with its metadata; record what ``feeds`` needs."""
        self.path, self.metadata, self.clip_input = path, metadata, clip_input
        self.contract = check_contract(path, inputs, outputs, metadata)
        self.noise_mode = self.contract.noise_mode
        self.input_shape = self.contract.input_shape
        self.steps, self.votes = self.contract.steps, self.contract.votes
        self.max_batch = default_max_batch(self.contract) if max_batch is None else check_max_batch(max_batch)
        names = metadata.get("class_names")
        valid = isinstance(names, list) and names and all(isinstance(n, str) for n in names)
        self.class_names = tuple(names) if valid else None

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The outputs by name (logits, purified, score) for one feed dict, in the runtime of the subclass."""
        raise NotImplementedError

    def validate(self, x: Any) -> np.ndarray:
        """Return ``x`` ready to run, or raise ValueError saying exactly what is wrong."""
        if not isinstance(x, np.ndarray):
            raise ValueError(f"x must be a numpy array, got {type(x).__name__}")
        if x.dtype != np.float32:
            raise ValueError(f"x must be float32, got {x.dtype}")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"x must have shape [B, {', '.join(map(str, self.input_shape))}], got {list(x.shape)}")
        if x.shape[0] < 1:
            raise ValueError("x must hold at least one image (batch >= 1)")
        if x.shape[0] > self.max_batch:
            raise ValueError(f"batch {x.shape[0]} exceeds this session's max_batch={self.max_batch}; "
                             "split the call or create the session with a larger max_batch")
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")
        if x.min() < 0.0 or x.max() > 1.0:
            if not self.clip_input:
                raise ValueError(f"x must lie in [0, 1] (got [{x.min():.3g}, {x.max():.3g}]); "
                                 "rescale it or create the session with clip_input=True")
            x = np.clip(x, 0.0, 1.0)
        return np.ascontiguousarray(x)

    def feeds(self, x: np.ndarray, seeds: np.ndarray) -> dict[str, np.ndarray]:
        if self.noise_mode == "seed":
            return {"x": x, "seed": seeds}
        return {"x": x, "noise": seeded_noise(seeds, self.steps, self.input_shape, self.votes)}  # type: ignore[arg-type]

    def predict(self, x: np.ndarray, seed: int | Sequence[int] | np.ndarray | None = None) -> Prediction:
        """Purify and classify ``x`` [B, C, H, W] float32 in [0, 1].

        ``seed``: None (default) draws fresh OS-entropy seeds; an int or one int per sample, each in
        [0, 2**63 - 1], makes the call reproducible (same seeds -> same noise in every runtime).
        Non-finite outputs raise a MaladeError instead of becoming a class.
        """
        x = self.validate(x)
        batch = x.shape[0]
        seeds = fresh_seeds(batch) if seed is None else check_seeds(seed, batch)
        out = check_outputs(self.path, batch, self.contract, self.run(self.feeds(x, seeds)))
        probs = _softmax(out["logits"])
        labels = probs.argmax(axis=1)
        names = self.class_names
        label_names = [names[i] for i in labels] if names and len(names) == probs.shape[1] else None
        return Prediction(out["logits"], probs, labels, out["purified"], out["score"], seeds, names, label_names)


@dataclass(frozen=True)
class Runtime:
    """How one runtime serves an exported noise-input ONNX file."""

    open: Callable[[Path], DefenseSession]
    target: str  # the graph spelling export writes for it (malade-export --target)


RUNTIMES: Registry[Runtime] = Registry("runtime")
