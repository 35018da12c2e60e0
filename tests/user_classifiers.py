"""Small user classifiers in every supported format, built inside the tests (no files shipped)."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

MEAN = (0.5, 0.4, 0.3)
STD = (0.25, 0.2, 0.3)
SHAPE = (3, 16, 16)
CLASSES = 3


class TinyNet(nn.Module):
    """Conv-BN-ReLU-MaxPool-Conv-GAP + view + Linear: the operators user classifiers are made of."""

    def __init__(self, classes: int = CLASSES) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).view(x.size(0), -1))


def tiny_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    net = TinyNet().eval()
    with torch.no_grad():  # non-trivial BN statistics, so a wrong BN in the twin would show
        net.features[1].running_mean.uniform_(-0.5, 0.5)
        net.features[1].running_var.uniform_(0.5, 2.0)
    return net


def write_onnx(net: nn.Module, path: Path, opset: int = 18, dynamic: bool = True) -> Path:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.rand(2, *SHAPE),), buffer, dynamo=False, input_names=["image"],
                          output_names=["scores"], opset_version=opset,
                          dynamic_axes={"image": {0: "n"}, "scores": {0: "n"}} if dynamic else None)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.save_model(model, str(path))
    return path


def write_torchscript(net: nn.Module, path: Path) -> Path:
    torch.jit.trace(net, torch.rand(2, *SHAPE)).save(str(path))
    return path


def write_pt2(net: nn.Module, path: Path) -> Path:
    program = torch.export.export(net, (torch.rand(2, *SHAPE),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(path))
    return path
