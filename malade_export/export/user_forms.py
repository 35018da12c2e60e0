"""A trained classifier in the forms a user holds one: TorchScript and ONNX files taking normalised input.

Users' models usually expect ``(pixels - mean) / std``, not [0, 1] pixels; a project network that
normalises inside (a ``normalize`` module in front of a ``body``) is written without that module,
so the files behave like such a model, and mean/std go into the ONNX metadata and the caller's
docs. Both files are checked against the PyTorch network before they are kept.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ..atomic import atomic_path
from ..checkpoint import load_checkpoint
from ..errors import MaladeError

OPSET = 18
TOLERANCE = 1e-4  # max |logit difference| allowed between a written file and the PyTorch network


def split_normalisation(model: nn.Module) -> tuple[nn.Module, list[float], list[float]]:
    """(body, mean, std) of a network built as normalize -> body; other networks are refused."""
    normalize, body = getattr(model, "normalize", None), getattr(model, "body", None)
    if normalize is None or body is None:
        raise MaladeError(f"{type(model).__name__} has no separate normalize/body; only such classifiers "
                          "(e.g. airbench-small) can be written as a normalised-input file")
    mean, std = ([round(v, 6) for v in t.flatten().tolist()] for t in (normalize.mean, normalize.std))
    return body, mean, std


def _onnx_bytes(body: nn.Module, example: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(body, (example,), buffer, dynamo=False, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=OPSET,
                          do_constant_folding=True)
    return buffer.getvalue()


def _onnx_logits(path: Path, example: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": example.numpy()})[0]


def _check(name: str, got: np.ndarray, want: torch.Tensor) -> float:
    gap = float(np.abs(got - want.numpy()).max())
    if not gap <= TOLERANCE:
        raise MaladeError(f"{name} differs from the PyTorch classifier by {gap:.2e} (> {TOLERANCE:g}); not written")
    return gap


def save_user_forms(checkpoint: str | Path, out_dir: str | Path, stem: str,
                    class_names: list[str] | None = None, seed: int = 0) -> dict[str, object]:
    """Write ``stem``.pt (TorchScript) and ``stem``.onnx, both taking normalised input.

    Returns their paths, the mean/std they expect and each file's largest logit gap to PyTorch.
    """
    loaded = load_checkpoint(checkpoint, "classifier")
    body, mean, std = split_normalisation(loaded.model)
    body = body.eval()
    out_dir = Path(out_dir)
    shape = loaded.config["input_shape"]
    pixels = torch.rand(8, *shape, generator=torch.Generator().manual_seed(seed))
    example = (pixels - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    with torch.no_grad():
        want = loaded.model(pixels)

    scripted = torch.jit.trace(body, example[:2], check_trace=False)
    script_path = out_dir / f"{stem}.pt"
    with atomic_path(script_path) as tmp, torch.no_grad():
        torch.jit.save(scripted, str(tmp))
        script_gap = _check("TorchScript file", torch.jit.load(str(tmp))(example).numpy(), want)

    model = onnx.load_from_string(_onnx_bytes(body, example[:2]))
    meta = {"input": "(pixels in [0, 1] - mean) / std, per channel, NCHW", "mean": json.dumps(mean),
            "std": json.dumps(std), "output": "logits", "source_sha256": loaded.sha256}
    if class_names:
        meta["class_names"] = json.dumps(list(class_names))
    for key, value in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model, full_check=True)
    onnx_path = out_dir / f"{stem}.onnx"
    with atomic_path(onnx_path) as tmp:
        onnx.save_model(model, str(tmp))
        onnx_gap = _check("ONNX file", _onnx_logits(tmp, example), want)
    return {"torchscript": script_path, "onnx": onnx_path, "mean": mean, "std": std,
            "max_abs_logit_gap": {"torchscript": script_gap, "onnx": onnx_gap}}
