"""The files a benchmark runs: checkpoints (given, bundled, or untrained stand-ins) and exported chains.

Weights do not change latency, so when no checkpoints are given and the default preset's are not
there yet, untrained networks of its architectures are written to the work folder and used (the
report says which). Shared by the Python suite and scripts/bench_cpp.sh.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..chain import DEFAULT_PRESET, LoadedDefense, MaladeDefense, preset
from ..checkpoint import save_checkpoint
from ..errors import MaladeError
from ..export import export_defense
from ..models import build_model
from ..models.dae import DEFAULT_CHANNELS, DEFAULT_KERNEL
from .backends import ChainFiles


def bench_checkpoints(work: Path, classifier: str | Path | None = None, sdae: str | Path | None = None,
                      preset_name: str = DEFAULT_PRESET) -> tuple[Path, Path, str]:
    """Given checkpoints, else the preset's, else (default preset only) untrained nets of its architectures."""
    shape = [1, 28, 28]
    configs = {"classifier": {"kind": "classifier", "arch": "A", "input_shape": shape, "num_classes": 10},
               "sdae": {"kind": "sdae", "input_shape": shape, "channels": DEFAULT_CHANNELS, "kernel": DEFAULT_KERNEL,
                        "sigma": 0.3}}
    paths, sources = [], []
    bundled_files = preset(preset_name)
    for name, given, bundled in (("classifier", classifier, bundled_files.classifier),
                                 ("sdae", sdae, bundled_files.sdae)):
        if given:
            paths.append(Path(given))
            sources.append(f"{name}: {given}")
        elif bundled.is_file():
            paths.append(bundled)
            sources.append(f"{name}: bundled {bundled.name} (preset {preset_name})")
        elif preset_name != DEFAULT_PRESET:
            raise MaladeError(f"preset {preset_name}'s {name} {bundled} is missing; reinstall the package")
        else:
            torch.manual_seed(0)
            (work / "untrained").mkdir(parents=True, exist_ok=True)
            paths.append(save_checkpoint(build_model(configs[name]), configs[name], work / "untrained" / name))
            sources.append(f"{name}: untrained, default architecture (latency does not depend on weights)")
    return paths[0], paths[1], "; ".join(sources)


def chain_files(defense: MaladeDefense, work: Path) -> ChainFiles:
    """Where ``export_chain`` writes this chain's files: malade_n{N}.onnx (noise input),
    malade_n{N}_seed.onnx, malade_n{N}.pt and malade_n{N}_plain.onnx (noise input, as trained:
    OpenVINO and GPU runtimes)."""
    n = defense.steps
    return ChainFiles(defense, work / f"malade_n{n}.onnx", work / f"malade_n{n}_seed.onnx", work / f"malade_n{n}.pt",
                      work / f"malade_n{n}_plain.onnx")


def export_chain(loaded: LoadedDefense, work: Path) -> ChainFiles:
    """Write the chain's files (see ``chain_files``) into ``work``."""
    files = chain_files(loaded.defense, work)
    export_defense(loaded, files.onnx, "onnx", "input", verify=False)
    export_defense(loaded, files.onnx_seed, "onnx", "seed", verify=False)
    export_defense(loaded, files.onnx_plain, "onnx", "input", verify=False, target="openvino")  # = tensorrt
    export_defense(loaded, files.torchscript, "torchscript", "input", verify=False)
    return files
