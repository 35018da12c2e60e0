"""The in-memory form every data source produces: float32 NCHW images in [0, 1], labels, class names."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import MaladeError


@dataclass(frozen=True)
class ImageSet:
    """Images [N, C, H, W] float32 in [0, 1], integer labels [N], and the classes' names when known."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | slice) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index], self.class_names)

    @property
    def num_classes(self) -> int:
        """len(class_names) when named (a class may be absent from a slice), else the largest label + 1."""
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.labels.max()) + 1

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.images.shape[1:])  # type: ignore[return-value]


def to_unit_float(raw: np.ndarray, source: str) -> np.ndarray:
    """uint8 -> /255; float stays (checked to lie in [0, 1]); other dtypes are refused, naming ``source``."""
    if raw.dtype == np.uint8:
        return np.ascontiguousarray(raw, dtype=np.float32) / np.float32(255.0)
    if np.issubdtype(raw.dtype, np.floating):
        images = np.ascontiguousarray(raw, dtype=np.float32)
        low, high = (float(images.min()), float(images.max())) if images.size else (0.0, 0.0)
        if not np.isfinite(low) or not np.isfinite(high) or low < 0.0 or high > 1.0:
            raise MaladeError(f"{source}: float images must lie in [0, 1]; found values in [{low:g}, {high:g}]")
        return images
    raise MaladeError(f"{source}: images of dtype {raw.dtype} are not supported; use uint8 (0-255) or float in [0, 1]")


def check_labels(labels: np.ndarray, count: int, source: str, num_classes: int | None = None) -> np.ndarray:
    """Integer labels [N] in [0, num_classes) as int64, or a one-line error naming ``source``."""
    if labels.ndim != 1 or len(labels) != count:
        raise MaladeError(f"{source}: {tuple(labels.shape)} labels for {count} images; expected one label per image")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(labels == np.round(labels)):
            raise MaladeError(f"{source}: labels must be integers; found dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if count and labels.min() < 0:
        raise MaladeError(f"{source}: negative label {int(labels.min())}")
    if num_classes is not None and count and labels.max() >= num_classes:
        raise MaladeError(f"{source}: label {int(labels.max())} but only {num_classes} class names")
    return labels


def held_out_split(data: ImageSet, test_fraction: float, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Deterministic (train, test) split for a source that ships no test set of its own."""
    if not 0.0 < test_fraction < 1.0:
        raise MaladeError(f"test fraction {test_fraction} must lie strictly between 0 and 1")
    n_test = int(round(len(data) * test_fraction))
    if not 0 < n_test < len(data):
        raise MaladeError(f"cannot hold out {test_fraction:.0%} of {len(data)} images as a test set")
    order = np.random.default_rng(seed).permutation(len(data))
    return data.subset(np.sort(order[n_test:])), data.subset(np.sort(order[:n_test]))


def default_val_size(train_size: int, requested: int | None) -> int:
    """Validation images to hold out: ``requested``, else 5,000 or a tenth of the training set if smaller."""
    size = requested if requested is not None else min(5000, max(1, train_size // 10))
    if not 0 < size < train_size:
        raise MaladeError(f"validation size {size} must be between 1 and {train_size - 1} "
                          f"(the training set has {train_size} images)")
    return size


def train_val_split(data: ImageSet, val_size: int = 5000, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Deterministic split of a training set: the same seed always holds out the same images."""
    if not 0 < val_size < len(data):
        raise MaladeError(f"validation size {val_size} must be between 1 and {len(data) - 1}")
    order = np.random.default_rng(seed).permutation(len(data))
    return data.subset(np.sort(order[val_size:])), data.subset(np.sort(order[:val_size]))


def random_subset(data: ImageSet, size: int, seed: int = 0) -> ImageSet:
    """``size`` images drawn without replacement, kept in stored order.

    Not the first ``size``: an image folder is read class by class, so its first images are one class.
    """
    if size >= len(data):
        return data
    return data.subset(np.sort(np.random.default_rng(seed).permutation(len(data))[:size]))


def check_fits_in_memory(values: int, source: str, bytes_per_value: int = 4) -> None:
    """Refuse, before allocating, a dataset whose float32 form would take most of the machine's memory."""
    needed = values * bytes_per_value
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if needed > 0.75 * total:
        raise MaladeError(f"{source}: its images take {needed / 2**30:.1f} GiB as float32, more than 3/4 of this "
                          f"machine's {total / 2**30:.1f} GiB; use --image-size or a smaller set")
