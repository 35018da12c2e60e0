"""The checks between a served file and its callers: the graph's contract, seeds, batch size, outputs.

A served ``.onnx`` file may come from someone who wants the server to fail, and a request from
someone who wants a wrong answer. So the file's metadata must agree with its own graph before a
session runs (its ``steps`` sizes the noise buffer the session allocates), a call's batch is capped
so that one request cannot take the host's memory, seeds are integers in a stated range, and an
output with NaN or infinity is an error, never a class.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaladeError

MAX_STEPS = 1000  # as malade-export allows
MAX_VOTES = 64
MAX_SIDE = 256  # image height and width, as checkpoints allow
MAX_CHANNELS = 4
SEED_MAX = (1 << 63) - 1  # seeds are int64 in every runtime and in the seed-mode graph
DEFAULT_MAX_BATCH = 1024
NOISE_BUDGET_BYTES = 1 << 30  # the default batch cap also keeps one call's noise under 1 GiB
OUTPUTS = ("logits", "purified", "score")


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as the runtime reports it: dims are ints, or None where dynamic."""

    name: str
    dtype: str  # numpy's name: "float32", "int64", ...
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class Contract:
    """What a checked graph takes: its noise mode, image shape, steps and votes."""

    noise_mode: str
    input_shape: tuple[int, int, int]
    steps: int
    votes: int
    num_classes: int | None


def _meta_int(path: Path, metadata: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = metadata.get(key, default)
    if value is None:
        raise MaladeError(f"{path}: metadata malade.{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MaladeError(f"{path}: metadata malade.{key} must be an integer in [{low}, {high}], got {value!r:.40}")
    return value


def _static(path: Path, spec: TensorSpec, index: int, low: int, high: int) -> int:
    dim = spec.shape[index] if index < len(spec.shape) else None
    if not isinstance(dim, int) or not low <= dim <= high:
        raise MaladeError(f"{path}: input {spec.name!r} dimension {index} must be a fixed size in [{low}, {high}], "
                          f"got {dim!r}")
    return dim


def check_contract(path: Path, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                   metadata: dict[str, Any]) -> Contract:
    """Refuse a graph whose inputs, outputs or metadata are not those of a malade-export file."""
    names = [i.name for i in inputs]
    noise_mode = "seed" if names == ["x", "seed"] else "input"
    if names != ["x", "seed" if noise_mode == "seed" else "noise"]:
        raise MaladeError(f"{path} is not a malade-export graph (inputs {names!r:.80}; expected x and noise, or x "
                          "and seed)")
    out_names = sorted(o.name for o in outputs)
    if out_names != sorted(OUTPUTS):
        raise MaladeError(f"{path} is not a malade-export graph (outputs {out_names!r:.80}; expected "
                          f"{', '.join(OUTPUTS)})")
    x, extra = inputs
    for spec, dtype in [(x, "float32"), (extra, "int64" if noise_mode == "seed" else "float32"),
                        *((o, "float32") for o in outputs)]:
        if spec.dtype != dtype:
            raise MaladeError(f"{path}: {spec.name!r} must be {dtype}, got {spec.dtype}")
    if len(x.shape) != 4:
        raise MaladeError(f"{path}: input 'x' must be [B, C, H, W], got {len(x.shape)} dimensions")
    shape = (_static(path, x, 1, 1, MAX_CHANNELS), _static(path, x, 2, 1, MAX_SIDE), _static(path, x, 3, 1, MAX_SIDE))
    steps = _meta_int(path, metadata, "steps", 1, MAX_STEPS)
    votes = _meta_int(path, metadata, "votes", 1, MAX_VOTES, default=1)
    if noise_mode == "input":
        if len(extra.shape) != 5:
            raise MaladeError(f"{path}: input 'noise' must be [steps, chains, C, H, W], "
                              f"got {len(extra.shape)} dimensions")
        if _static(path, extra, 0, 1, MAX_STEPS) != steps:
            raise MaladeError(f"{path}: metadata malade.steps={steps} disagrees with the noise input's "
                              f"{extra.shape[0]} steps")
        for index, size in enumerate(shape, start=2):
            if _static(path, extra, index, 1, MAX_SIDE) != size:
                raise MaladeError(f"{path}: input 'noise' dimension {index} is {extra.shape[index]}; x has {size}")
    elif len(extra.shape) != 1:
        raise MaladeError(f"{path}: input 'seed' must be [B], got {len(extra.shape)} dimensions")
    classes = metadata.get("num_classes")
    return Contract(noise_mode, shape, steps, votes, classes if isinstance(classes, int) else None)


def default_max_batch(contract: Contract) -> int:
    """1024, or fewer where one sample's noise is large (many steps or votes, big images)."""
    per_sample = 4 * contract.steps * contract.votes * int(np.prod(contract.input_shape))
    return max(1, min(DEFAULT_MAX_BATCH, NOISE_BUDGET_BYTES // per_sample))


def check_max_batch(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"max_batch must be a positive integer, got {value!r:.40}")
    return int(value)


def _seed_value(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"seeds must be integers, got {type(value).__name__} {value!r:.40}")
    if not 0 <= int(value) <= SEED_MAX:
        raise ValueError(f"seeds must lie in [0, 2**63 - 1], got {int(value)}")
    return int(value)


def check_seeds(seed: Any, batch: int) -> np.ndarray:
    """int64 [batch] from one integer or exactly one integer per sample; anything else a ValueError."""
    if isinstance(seed, np.ndarray):
        if seed.dtype.kind not in "iu":
            raise ValueError(f"seeds must be an integer array, got dtype {seed.dtype}")
        if seed.ndim == 0:
            return np.full(batch, _seed_value(seed.item()), dtype=np.int64)
        if seed.ndim != 1 or seed.shape[0] != batch:
            raise ValueError(f"seeds must be one integer or one per sample ({batch}), got shape {list(seed.shape)}")
        if seed.size and (seed.min() < 0 or int(seed.max()) > SEED_MAX):
            raise ValueError("seeds must lie in [0, 2**63 - 1]")
        return seed.astype(np.int64)
    if isinstance(seed, (list, tuple)):
        if len(seed) != batch:
            raise ValueError(f"seeds must be one integer or one per sample ({batch}), got {len(seed)}")
        return np.array([_seed_value(s) for s in seed], dtype=np.int64)
    return np.full(batch, _seed_value(seed), dtype=np.int64)


def _shape_ok(array: Any, shape: tuple[int | None, ...]) -> bool:
    return isinstance(array, np.ndarray) and array.ndim == len(shape) and all(
        want is None or got == want for got, want in zip(array.shape, shape, strict=True))


def check_outputs(path: Path, batch: int, contract: Contract, arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The graph's outputs by name, if they have the promised shapes and are finite; else a MaladeError."""
    expected = {"logits": (batch, contract.num_classes), "purified": (batch, *contract.input_shape), "score": (batch,)}
    for name in OUTPUTS:
        array = arrays.get(name)
        if not _shape_ok(array, expected[name]):
            got = list(getattr(array, "shape", ()))
            raise MaladeError(f"{path} returned {name} of shape {got}; expected {list(expected[name])}")
        if not np.isfinite(array).all():
            raise MaladeError(f"{path} returned non-finite {name} (NaN or Inf): the file is broken or was "
                              "tampered with; no prediction made")
    return {name: arrays[name] for name in OUTPUTS}
