"""What an exported file says about itself: chain settings, checkpoints, versions."""
from __future__ import annotations

import json
import platform
from typing import Any

from ..chain import LoadedDefense
from ..noise.gaussian import NOISE_GENERATOR
from ..provenance import library_versions
from ..runtime.metadata import PREFIX


def export_metadata(loaded: LoadedDefense, noise_mode: str, dtype: str, opset: int | None,
                    target: str | None = None) -> dict[str, str]:
    """String key/value pairs for ONNX ``metadata_props`` (and the TorchScript extra file)."""
    chain = loaded.defense.describe()
    values: dict[str, Any] = {
        PREFIX + "format_version": 1,
        PREFIX + "steps": chain["steps"],
        PREFIX + "sigma": chain["sigma"],
        PREFIX + "clip": chain["clip"],
        PREFIX + "votes": chain["votes"],
        PREFIX + "schedule": chain["schedule"],
        PREFIX + "alphas": chain["alphas"],
        PREFIX + "deltas": chain["deltas"],
        PREFIX + "input_shape": chain["input_shape"],
        PREFIX + "num_classes": loaded.classifier.config.get("num_classes"),
        PREFIX + "noise_mode": noise_mode,
        PREFIX + "noise_generator": NOISE_GENERATOR,  # which seeded_noise() reproduces this file's noise
        PREFIX + "dtype": dtype,
        PREFIX + "opset": opset,
        PREFIX + "graph_target": target,  # which runtime the denoiser's operators were spelled for
        PREFIX + "classifier": {"arch": loaded.classifier.config.get("arch"), "sha256": loaded.classifier.sha256,
                              "file": loaded.classifier.path.name,
                              "format": loaded.classifier.config.get("format", "safetensors"),
                              "conventions": loaded.classifier.config.get("conventions")},
        PREFIX + "denoiser": {"kind": loaded.dae.config.get("kind"), "sha256": loaded.dae.sha256,
                            "file": loaded.dae.path.name},
        PREFIX + "preset": loaded.preset,  # the bundled preset that supplied a checkpoint, else null
        PREFIX + "dataset": loaded.dae.config.get("dataset"),
        PREFIX + "class_names": class_names(loaded),
        PREFIX + "versions": {**library_versions("torch", "onnx"), "python": platform.python_version()},
    }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def class_names(loaded: LoadedDefense) -> list[str] | None:
    """The classifier's class names (else the denoiser's, from the data it was trained on), if they fit."""
    count = loaded.classifier.config.get("num_classes")
    for config in (loaded.classifier.config, loaded.dae.config):
        names = config.get("class_names")
        if isinstance(names, list) and (count is None or len(names) == int(count)):
            return [str(n) for n in names]
    return None
