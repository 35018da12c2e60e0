"""What a checkpoint's config may say, checked before any tensor is allocated.

A config decides how large the rebuilt network is (channels, kernel, input shape, class count), so
an unchecked one lets a 1 KB file ask for terabytes. Every field that sizes a network has a range
here; a file outside it is refused with one line naming the file and the field. The ranges cover
every network this package trains (28 x 28 grey and 32 x 32 colour images) with room to spare.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import MaladeError

CHANNELS_RANGE = (1, 4)  # image channels C
SIDE_RANGE = (8, 256)  # image height and width
NUM_CLASSES_RANGE = (2, 1000)
DAE_CHANNELS_RANGE = (1, 512)
DOWNSAMPLE_RANGE = (0, 2)  # stride-2 stages of the (s)DAE
KERNEL_RANGE = (1, 15)  # odd only: the DAE pads kernel // 2 on each side
SIGMA_RANGE = (0.0, 1.0)  # exclusive of 0: the chain divides by sigma^2; pixels lie in [0, 1]
LATENT_RANGE = (1, 1024)
CONV_DENOISERS = ("dae", "sdae")  # the convolutional (s)DAE, sized by channels and kernel
REQUIRED = {"classifier": ("arch", "input_shape"), "generator": ("input_shape",), "critic": ("input_shape",)}
DENOISER_REQUIRED = ("input_shape", "sigma")


def _int_in(path: Path, config: dict[str, Any], field: str, bounds: tuple[int, int], default: int | None = None) -> int:
    value = config.get(field, default)
    if value is None:
        raise MaladeError(f"{path}: config field {field!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise MaladeError(f"{path}: config field {field!r} must be an integer in [{bounds[0]}, {bounds[1]}], "
                          f"got {value!r:.60}")
    return value


def _input_shape(path: Path, config: dict[str, Any]) -> None:
    shape = config.get("input_shape")
    if not isinstance(shape, list) or len(shape) != 3:
        raise MaladeError(f"{path}: config field 'input_shape' must be [C, H, W], got {shape!r:.60}")
    names = ("input_shape[0] (channels)", "input_shape[1] (height)", "input_shape[2] (width)")
    for name, value, bounds in zip(names, shape, (CHANNELS_RANGE, SIDE_RANGE, SIDE_RANGE), strict=True):
        _int_in(path, {name: value}, name, bounds)


def _sigma(path: Path, config: dict[str, Any]) -> None:
    value = config.get("sigma")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MaladeError(f"{path}: config field 'sigma' must be a number, got {value!r:.60}")
    if not (math.isfinite(value) and SIGMA_RANGE[0] < value <= SIGMA_RANGE[1]):
        raise MaladeError(f"{path}: config field 'sigma' must lie in ({SIGMA_RANGE[0]}, {SIGMA_RANGE[1]}], "
                          f"got {value!r}")


def validate_config(path: Path, config: Any, expect_kind: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Return ``config`` if it describes a network of a bounded size (and an expected kind), else refuse."""
    if not isinstance(config, dict):
        raise MaladeError(f"{path}: config must be a JSON object, got {type(config).__name__}")
    from .models import CLASSIFIERS, DENOISERS, MODEL_KINDS

    kind = config.get("kind")
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise MaladeError(f"{path}: config field 'kind' must be one of {', '.join(MODEL_KINDS)}, got {kind!r:.60}")
    if expect_kind and kind not in expect_kind:
        raise MaladeError(f"{path} holds a {kind!r} model; expected {' or '.join(expect_kind)}")
    required = REQUIRED.get(kind, DENOISER_REQUIRED) + (("channels", "kernel") if kind in CONV_DENOISERS else ())
    for field in required:
        if field not in config:
            raise MaladeError(f"{path}: config field {field!r} is missing (a {kind} checkpoint needs "
                              f"{', '.join(required)})")
    _input_shape(path, config)
    if kind == "classifier":
        arch = config["arch"]
        if not isinstance(arch, str) or arch not in CLASSIFIERS.names():
            raise MaladeError(f"{path}: config field 'arch' must be one of {', '.join(CLASSIFIERS.names())}, "
                              f"got {arch!r:.60}")
        _int_in(path, config, "num_classes", NUM_CLASSES_RANGE, default=10)
    elif kind in DENOISERS.names():
        if kind in CONV_DENOISERS:
            _int_in(path, config, "channels", DAE_CHANNELS_RANGE)
            if _int_in(path, config, "kernel", KERNEL_RANGE) % 2 == 0:
                raise MaladeError(f"{path}: config field 'kernel' must be odd, got {config['kernel']}")
            _int_in(path, config, "downsample", DOWNSAMPLE_RANGE, default=2)
            if not isinstance(config.get("skip", False), bool):
                raise MaladeError(f"{path}: config field 'skip' must be true or false, got {config['skip']!r:.60}")
        _sigma(path, config)
    elif kind == "generator":
        _int_in(path, config, "latent_dim", LATENT_RANGE, default=128)
    return config


def check_tensors(path: Path, header: dict[str, Any], expected: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """The file's tensor table (names, dtypes, shapes) must be exactly what the config's network holds.

    Checked from the header alone, so a file whose tensors disagree with its config costs nothing.
    """
    stored = {k: v for k, v in header.items() if k != "__metadata__"}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        what = f"lacks tensor {missing[0]!r}" if missing else f"has unexpected tensor {extra[0]!r}"
        raise MaladeError(f"{path}: {what} for its config")
    for name, (dtype, shape) in expected.items():
        entry = stored[name]
        if not isinstance(entry, dict) or entry.get("dtype") != dtype or tuple(entry.get("shape", ())) != shape:
            got = (entry.get("dtype"), entry.get("shape")) if isinstance(entry, dict) else entry
            raise MaladeError(f"{path}: tensor {name!r} is {got!r:.80} in the file; its config needs "
                              f"{dtype} {list(shape)}")
