"""Run an exported defence with ONNX Runtime: needs onnxruntime + numpy only, no torch.

The session validates inputs before running (a clear ValueError instead of an ORT stack trace) and
fills the noise itself: by default from a fresh OS-entropy seed per sample and call, so the chain's
randomness cannot be predicted by an attacker; a fixed seed only when the caller passes one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MaladeError
from ..noise import fresh_seeds, seeded_noise
from .metadata import read_metadata

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


@dataclass
class Prediction:
    logits: np.ndarray  # [B, K]
    probabilities: np.ndarray  # [B, K]
    labels: np.ndarray  # [B]
    purified: np.ndarray  # [B, C, H, W]
    score: np.ndarray  # [B] off-manifold score (large = suspicious)
    seeds: np.ndarray  # [B] the seeds that made this call's noise: pass them back to reproduce it


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def resolve_providers(providers: str | Sequence[str]) -> list[str]:
    """'cpu' (default), 'auto' (TensorRT > CUDA > CPU, whichever is present) or an explicit list."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers == "cpu":
        return ["CPUExecutionProvider"]
    if providers == "auto":
        return [p for p in PREFERRED_PROVIDERS if p in available]
    missing = [p for p in providers if p not in available]
    if missing:
        raise MaladeError(f"execution providers {missing} are not available here (available: {available})")
    return list(providers)


class Session:
    """A loaded ``.onnx`` defence: ``Session(path).predict(x)``; safe to share between threads."""

    def __init__(self, path: str | Path, providers: str | Sequence[str] = "cpu", threads: int | None = None,
                 clip_input: bool = False, optimized_model_path: str | Path | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise MaladeError(f"model file {path} does not exist")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if optimized_model_path:
            options.optimized_model_filepath = str(optimized_model_path)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=resolve_providers(providers))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise MaladeError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc
        self.metadata = read_metadata(self.session.get_modelmeta().custom_metadata_map)
        names = [i.name for i in self.session.get_inputs()]
        self.noise_mode = "seed" if "seed" in names else "input"
        if names != ["x", self.noise_mode if self.noise_mode == "seed" else "noise"]:
            raise MaladeError(f"{path} is not a malade-export graph (inputs {names})")
        self.input_shape = tuple(self.session.get_inputs()[0].shape[1:])
        self.steps = int(self.metadata.get("steps", 0))
        self.votes = int(self.metadata.get("votes", 1))
        self.clip_input = clip_input
        if self.noise_mode == "input" and not self.steps:
            raise MaladeError(f"{path} lacks malade.steps metadata; cannot size its noise input")

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
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")
        if x.min() < 0.0 or x.max() > 1.0:
            if not self.clip_input:
                raise ValueError(f"x must lie in [0, 1] (got [{x.min():.3g}, {x.max():.3g}]); "
                                 "rescale it or create the Session with clip_input=True")
            x = np.clip(x, 0.0, 1.0)
        return np.ascontiguousarray(x)

    def feeds(self, x: np.ndarray, seeds: np.ndarray) -> dict[str, np.ndarray]:
        if self.noise_mode == "seed":
            return {"x": x, "seed": seeds}
        return {"x": x, "noise": seeded_noise(seeds, self.steps, self.input_shape, self.votes)}  # type: ignore[arg-type]

    def predict(self, x: np.ndarray, seed: int | Sequence[int] | np.ndarray | None = None) -> Prediction:
        """Purify and classify ``x`` [B, C, H, W] float32 in [0, 1].

        ``seed``: None (default) draws fresh OS-entropy seeds; an int or one int per sample makes
        the call reproducible (same seeds -> same noise in every runtime).
        """
        x = self.validate(x)
        batch = x.shape[0]
        if seed is None:
            seeds = fresh_seeds(batch)
        else:
            seeds = np.broadcast_to(np.asarray(seed, dtype=np.int64), (batch,)).copy()
        logits, purified, score = self.session.run(["logits", "purified", "score"], self.feeds(x, seeds))
        probs = _softmax(logits)
        return Prediction(logits, probs, probs.argmax(axis=1), purified, score, seeds)
