"""Small user classifiers in every supported format, built inside the tests (no files shipped)."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
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


CLASS_NAMES = ("blue", "green", "red")  # sorted, as image-folder loaders order class folders


def class_images(label: int, count: int, seed: int) -> np.ndarray:
    """[count, 16, 16, 3] uint8: one colour channel bright per class, with noise and a random bar."""

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, (count, 16, 16, 3)).astype(np.int32)
    channel = 2 - label  # blue -> channel 2, green -> 1, red -> 0
    images[..., channel] += 120
    for k in range(count):
        row = rng.integers(0, 16)
        images[k, row, :, :] += 40
    return np.clip(images, 0, 255).astype(np.uint8)


def write_image_folder(root: Path, train: int = 24, test: int = 8) -> Path:
    """root/{train,test}/<class>/<n>.png, colour PNGs written with Pillow."""
    from PIL import Image

    for split, count, seed in (("train", train, 0), ("test", test, 1)):
        for label, name in enumerate(CLASS_NAMES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for k, image in enumerate(class_images(label, count, seed * 10 + label)):
                Image.fromarray(image).save(folder / f"{k}.png")
    return root


def trained_tiny_net(steps: int = 60) -> TinyNet:
    """TinyNet fitted briefly on the folder's classes, taking mean/std-normalised input."""

    net = tiny_net()
    x = np.concatenate([class_images(label, 32, 100 + label) for label in range(CLASSES)])
    y = np.repeat(np.arange(CLASSES), 32)
    images = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    inputs = (images - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    labels = torch.from_numpy(y)
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(net(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()
