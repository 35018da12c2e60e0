"""Named image datasets read from IDX folders, as float32 NCHW arrays in [0, 1].

Nothing is downloaded: Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package, MNIST or
any other IDX set from a folder the user names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MaladeError
from .idx import read_idx

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_DIR_ENV = "MALADE_DATA_DIR"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
DATASET_NAMES = ("fashion-mnist", "mnist", "idx:<folder>")


@dataclass(frozen=True)
class ImageSet:
    """Images [N, C, H, W] float32 in [0, 1] and integer labels [N]."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | slice) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index])

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.images.shape[1:])  # type: ignore[return-value]


def _candidate_dirs(name: str, data_dir: str | Path | None) -> tuple[list[Path], str]:
    """Folders to look in for ``name``, and the hint to print when nothing is there."""
    if name.startswith("idx:"):
        return [Path(name[4:])], "point idx:<folder> at a folder holding the four IDX files"
    if name not in ("fashion-mnist", "mnist"):
        raise MaladeError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if name == "fashion-mnist":
        base = Path(root) if root else FASHION_MNIST_DIR
        hint = "install them with `apt-get install dataset-fashion-mnist` or pass --data-dir"
        return [base, base / "FashionMNIST" / "raw"], hint
    if not root:
        raise MaladeError("dataset 'mnist' needs --data-dir (or MALADE_DATA_DIR): a folder with the MNIST IDX files")
    base = Path(root)
    return [base, base / "MNIST" / "raw"], "pass --data-dir pointing at the MNIST IDX files"


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def load_split(name: str, split: str = "train", data_dir: str | Path | None = None) -> ImageSet:
    """Load ``split`` ('train' or 'test') of dataset ``name`` (see ``DATASET_NAMES``)."""
    if split not in SPLIT_PREFIX:
        raise MaladeError(f"unknown split {split!r}; choose 'train' or 'test'")
    prefix = SPLIT_PREFIX[split]
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    folders, hint = _candidate_dirs(name, data_dir)
    for folder in folders:
        found = [_find(folder, stem) for stem in stems]
        if all(found):
            return _to_image_set(*found)  # type: ignore[arg-type]
    raise MaladeError(
        f"{name} {split} data not found: expected {stems[0]}[.gz] and {stems[1]}[.gz] in {folders[0]}; {hint}"
    )


def _to_image_set(images_path: Path, labels_path: Path) -> ImageSet:
    raw = read_idx(images_path)
    labels = read_idx(labels_path).astype(np.int64)
    if raw.ndim == 3:
        raw = raw[:, None]
    elif raw.ndim == 4:  # N, H, W, C (colour IDX variants)
        raw = raw.transpose(0, 3, 1, 2)
    else:
        raise MaladeError(f"{images_path} holds {raw.ndim}-d data; expected images [N, H, W] or [N, H, W, C]")
    if labels.ndim != 1 or len(labels) != len(raw):
        raise MaladeError(f"{labels_path} holds {labels.shape} labels for {len(raw)} images in {images_path}")
    scale = 255.0 if raw.dtype == np.uint8 else 1.0
    images = np.ascontiguousarray(raw, dtype=np.float32) / np.float32(scale)
    return ImageSet(images, labels)


def train_val_split(data: ImageSet, val_size: int = 5000, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Deterministic split of a training set: the same seed always holds out the same images."""
    if not 0 < val_size < len(data):
        raise MaladeError(f"validation size {val_size} must be between 1 and {len(data) - 1}")
    order = np.random.default_rng(seed).permutation(len(data))
    return data.subset(np.sort(order[val_size:])), data.subset(np.sort(order[:val_size]))
