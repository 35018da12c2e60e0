"""Write a Triton model repository for an exported defence, in one of three variants.

- ``python``: one Python-backend model running the file through ``malade_export.runtime.Session``;
  its only input is ``x`` and it draws the noise itself. Runs wherever Triton's Python backend runs.
- ``onnxruntime`` / ``tensorrt``: an ensemble ``<name>`` = a Python front model ``<name>_noise``
  drawing seeds (or noise) from OS entropy, then the file under Triton's ``onnxruntime_onnx`` backend
  or a ``--trt-engine`` plan under ``tensorrt_plan``. The inner models stay callable by any client of
  the server: see docs/serving.md for what a deployment must do about that.

The repository is built in a temporary folder beside ``out`` and renamed into place, so a failure
never leaves half a repository.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MaladeError
from .config import EnsembleStep, OnnxIO, QueuePolicy, TensorSpec, ensemble_config, model_config, read_onnx_io
from .python_backend import DEFENSE_MODEL, NOISE_MODEL

VARIANTS = ("python", "onnxruntime", "tensorrt")
OUTPUT_NAMES = ("logits", "purified", "score")


@dataclass(frozen=True)
class RepoOptions:
    name: str = "malade"
    variant: str = "python"
    device: str = "cpu"  # instance group kind: cpu or gpu
    instances: int = 1
    threads: int = 0  # ONNX Runtime intra-op threads per instance (0: its default)
    policy: QueuePolicy = field(default_factory=QueuePolicy)
    expose_seeds: bool = False  # debug only: return the seeds each request's noise came from
    plan: Path | None = None  # the TensorRT plan (tensorrt variant)


@dataclass(frozen=True)
class Repository:
    path: Path
    entry: str  # the model clients call
    models: tuple[str, ...]
    batched: bool


def _check(io: OnnxIO, onnx_path: Path) -> str:
    names = [t.name for t in io.inputs]
    if names not in (["x", "noise"], ["x", "seed"]):
        raise MaladeError(f"{onnx_path} is not a malade-export graph (inputs {names})")
    if [t.name for t in io.outputs] != list(OUTPUT_NAMES):
        raise MaladeError(f"{onnx_path} is not a malade-export graph (outputs {[t.name for t in io.outputs]})")
    return names[1]


SEED_OUTPUT = TensorSpec("seed", "TYPE_INT64", (-1,))  # debug output: the seeds a request's noise came from


def write_repository(onnx_path: str | Path, out: str | Path, options: RepoOptions | None = None) -> Repository:
    """Write the repository for ``onnx_path`` to the folder ``out`` (which must not exist yet)."""
    onnx_path, out, options = Path(onnx_path), Path(out), options or RepoOptions()
    if options.variant not in VARIANTS:
        raise MaladeError(f"unknown variant {options.variant!r} (choose from {', '.join(VARIANTS)})")
    if not onnx_path.is_file():
        raise MaladeError(f"model file {onnx_path} does not exist")
    if out.exists():
        raise MaladeError(f"{out} already exists; give a new folder for the repository")
    if not out.parent.is_dir():
        raise MaladeError(f"output folder {out.parent} does not exist")
    if options.variant == "tensorrt" and (options.plan is None or not Path(options.plan).is_file()):
        raise MaladeError("the tensorrt variant needs the plan built by `malade-export --trt-engine PLAN` "
                          "(--plan PLAN)")
    if options.variant == "tensorrt" and options.device != "gpu":
        raise MaladeError("the tensorrt variant runs on GPU instances only (--device gpu)")
    if not options.name.isidentifier():
        raise MaladeError(f"model name {options.name!r} must be letters, digits and underscores")
    io = read_onnx_io(onnx_path)
    mode = _check(io, onnx_path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        writer = _python_repo if options.variant == "python" else _ensemble_repo
        repo = writer(onnx_path, tmp, io, mode, options)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would hide the repository from a server run as another user
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Repository(out, repo.entry, repo.models, repo.batched)


def _model_dir(root: Path, name: str, config: str) -> Path:
    version = root / name / "1"
    version.mkdir(parents=True)
    (root / name / "config.pbtxt").write_text(config)
    return version


def _python_repo(onnx_path: Path, root: Path, io: OnnxIO, mode: str, o: RepoOptions) -> Repository:
    """One Python-backend model: input ``x`` only, batched by Triton (the session takes any batch)."""
    outputs = list(io.outputs) + ([SEED_OUTPUT] if o.expose_seeds else [])
    params = {"onnx_file": "model.onnx", "threads": str(o.threads), "expose_seeds": str(o.expose_seeds).lower(),
              "providers": "auto" if o.device == "gpu" else "cpu"}
    kind = "KIND_GPU" if o.device == "gpu" else "KIND_CPU"
    config = model_config(o.name, backend="python", batched=True, policy=o.policy, inputs=[io.inputs[0]],
                          outputs=outputs, kind=kind, count=o.instances, params=params)
    version = _model_dir(root, o.name, config)
    shutil.copyfile(DEFENSE_MODEL, version / "model.py")
    shutil.copyfile(onnx_path, version / "model.onnx")
    return Repository(root, o.name, (o.name,), True)


def _ensemble_repo(onnx_path: Path, root: Path, io: OnnxIO, mode: str, o: RepoOptions) -> Repository:
    """Ensemble: Python front model drawing seed/noise -> ONNX Runtime or TensorRT model.

    A seed-mode file has the batch first on every tensor, so Triton batches requests dynamically; a
    noise-input file's noise is [steps, B, ...], so its models take whole requests (max_batch_size 0).
    """
    batched = mode == "seed"
    x, noise_in = io.inputs
    meta = io.metadata
    front, inner = f"{o.name}_noise", f"{o.name}_{'onnx' if o.variant == 'onnxruntime' else 'trt'}"
    front_params = {"noise_mode": mode, "steps": str(meta.get("steps", 0)), "votes": str(meta.get("votes", 1)),
                    "input_shape": ",".join(map(str, x.dims[1:]))}
    if mode == "noise" and not meta.get("steps"):
        raise MaladeError(f"{onnx_path} lacks malade.steps metadata; cannot size its noise input")
    front_outputs = [noise_in] if batched else [noise_in, TensorSpec("seed_used", "TYPE_INT64", (-1,))]
    _model_dir(root, front, model_config(front, backend="python", batched=batched, policy=o.policy, inputs=[x],
                                         outputs=front_outputs, params=front_params))
    shutil.copyfile(NOISE_MODEL, root / front / "1" / "model.py")
    kind = "KIND_GPU" if o.device == "gpu" else "KIND_CPU"
    if o.variant == "onnxruntime":
        params = {"intra_op_thread_count": str(o.threads)} if o.threads else {}
        version = _model_dir(root, inner, model_config(
            inner, platform="onnxruntime_onnx", batched=batched, policy=o.policy, inputs=io.inputs,
            outputs=io.outputs, kind=kind, count=o.instances, params=params))
        shutil.copyfile(onnx_path, version / "model.onnx")
    else:
        version = _model_dir(root, inner, model_config(
            inner, platform="tensorrt_plan", batched=batched, policy=o.policy, inputs=io.inputs,
            outputs=io.outputs, kind=kind, count=o.instances))
        shutil.copyfile(o.plan, version / "model.plan")  # type: ignore[arg-type]
    outputs = list(io.outputs) + ([SEED_OUTPUT] if o.expose_seeds else [])
    front_out = {noise_in.name: noise_in.name}  # in seed mode the ensemble's `seed` tensor is the drawn seed
    if o.expose_seeds and mode == "noise":
        front_out["seed_used"] = "seed"
    steps = [EnsembleStep(front, {"x": "x"}, front_out),
             EnsembleStep(inner, {"x": "x", noise_in.name: noise_in.name}, {n: n for n in OUTPUT_NAMES})]
    (root / o.name / "1").mkdir(parents=True)
    (root / o.name / "config.pbtxt").write_text(ensemble_config(
        o.name, batched=batched, max_batch_size=o.policy.max_batch_size, inputs=[x], outputs=outputs, steps=steps))
    return Repository(root, o.name, (o.name, front, inner), batched)
