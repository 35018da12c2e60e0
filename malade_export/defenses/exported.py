"""Evaluate the exported file in the runtime that will serve it, not only the PyTorch module.

A faster runtime may change the numbers (OpenVINO in bfloat16 rounds every layer), so robustness
claims for it must come from that runtime's own answers. ``RuntimeChain`` exports the chain to a
noise-input ONNX file, runs its forward pass there with noise drawn from torch's generator (so a
seeded evaluation stays reproducible), and hands white-box attackers the float32 PyTorch chain's
gradient at the same point and noise: a straight-through estimator, the strongest gradient an
attacker who knows the weights has.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from ..errors import MaladeError
from ..runtime import RUNTIMES
from .base import Defense
from .chain import ChainDefense

TORCH = "torch"  # the float32 PyTorch chain itself: no exported file


def runtime_choices() -> tuple[str, ...]:
    """Where an evaluation may run a chain's forward pass: PyTorch, or any registered runtime."""
    return (TORCH, *RUNTIMES.names())


class RuntimeChain(Defense):
    """A chain defence whose logits come from its exported ONNX file run in ``runtime``."""

    def __init__(self, chain: ChainDefense, runtime: str) -> None:
        super().__init__(chain.classifier)
        from ..export.onnx_export import export_onnx

        serving = RUNTIMES.get(runtime)
        if chain.source is None:
            raise MaladeError("running a chain in another runtime needs the checkpoints it was built from")
        self.chain, self.runtime, self.name = chain, runtime, chain.name
        self._folder = tempfile.TemporaryDirectory(prefix="malade-runtime-")  # removed with this object
        path = Path(self._folder.name) / "chain.onnx"
        export_onnx(chain.source, path, noise_mode="input", target=serving.target)
        self.session = serving.open(path)

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)[0]

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chain = self.chain.chain
        noise = torch.randn(chain.noise_shape(x.shape[0]), dtype=x.dtype)
        feeds = {"x": np.ascontiguousarray(x.detach().cpu().numpy()), "noise": noise.numpy()}
        out = self.session.run(feeds)
        logits_t, purified_t = (torch.from_numpy(out[name]).to(x.device) for name in ("logits", "purified"))
        if not (torch.is_grad_enabled() and x.requires_grad):
            return logits_t, purified_t
        reference = chain(x, noise.to(x.device))  # the float32 chain at the same point and noise
        return (reference.logits + (logits_t - reference.logits).detach(),
                reference.purified + (purified_t - reference.purified).detach())

    def describe(self) -> dict[str, object]:
        return {**self.chain.describe(), "runtime": self.runtime}
