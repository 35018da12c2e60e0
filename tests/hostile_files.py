"""Makers of hostile files: checkpoints and ONNX graphs edited the way an attacker would edit them.

Shared by tests/test_hostile.py, tests/test_fuzz.py and scripts/hostile_inputs.py.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CONFIG_KEY = "malade_config"


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    return json.loads(header["__metadata__"][CONFIG_KEY]), load_file(str(path))


def write_checkpoint(path: Path, config: Any, tensors: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata={CONFIG_KEY: json.dumps(config)})
    return path


def tamper_checkpoint(src: Path, dst: Path, changes: dict[str, Any] | None = None,
                      tensors: Callable[[dict[str, np.ndarray]], None] | None = None,
                      drop: tuple[str, ...] = ()) -> Path:
    """``src`` with config fields changed or dropped and/or its tensors edited in place by ``tensors``."""
    config, state = read_checkpoint(src)
    config.update(changes or {})
    for key in drop:
        config.pop(key, None)
    if tensors:
        tensors(state)
    return write_checkpoint(dst, config, state)


def first_weight_nan(state: dict[str, np.ndarray]) -> None:
    name = sorted(k for k in state if k.endswith("weight"))[0]
    state[name] = state[name].copy()
    state[name].flat[0] = np.nan


def tamper_onnx(src: Path, dst: Path, metadata: dict[str, str] | None = None, nan_weights: bool = False,
                noise_dims: list[int | str] | None = None, x_dtype: int | None = None) -> Path:
    """``src`` with metadata entries replaced, every float initializer NaN, or the noise input's dims changed."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    for key, value in (metadata or {}).items():
        entries = [p for p in model.metadata_props if p.key == key]
        for entry in entries:
            model.metadata_props.remove(entry)
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    if nan_weights:
        for index, init in enumerate(model.graph.initializer):
            array = numpy_helper.to_array(init)
            if array.dtype == np.float32 and array.size > 100:
                model.graph.initializer[index].CopyFrom(numpy_helper.from_array(np.full_like(array, np.nan), init.name))
    if noise_dims is not None:
        (noise,) = [i for i in model.graph.input if i.name == "noise"]
        dims = noise.type.tensor_type.shape.dim
        for dim, value in zip(dims, noise_dims, strict=True):
            if isinstance(value, int):
                dim.dim_value = value
            else:
                dim.dim_param = value
    if x_dtype is not None:
        model.graph.input[0].type.tensor_type.elem_type = x_dtype
    onnx.save(model, str(dst))
    return dst
