"""``cifar10-bin:DIR``: CIFAR-10's binary release (data_batch_1..5.bin, test_batch.bin).

Each record is one label byte and 3,072 pixel bytes (R, G, B planes of 32 x 32). Class names
come from ``batches.meta.txt`` when present. The pickled "python version" of CIFAR-10 is refused:
unpickling can run arbitrary code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MaladeError
from .imageset import ImageSet, check_labels, to_unit_float
from .options import ReadOptions

RECORD = 1 + 3 * 32 * 32
FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
PICKLED_MARKERS = ("data_batch_1", "test_batch", "batches.meta")


def _folder(arg: str) -> Path:
    """DIR itself, or the ``cifar-10-batches-bin`` folder the archive unpacks into."""
    root = Path(arg)
    if not root.is_dir():
        raise MaladeError(f"cifar10-bin:{arg}: no such folder")
    for folder in (root, root / "cifar-10-batches-bin"):
        if (folder / "test_batch.bin").is_file() or (folder / "data_batch_1.bin").is_file():
            return folder
    for folder in (root, root / "cifar-10-batches-py"):
        if any((folder / name).is_file() for name in PICKLED_MARKERS):
            raise MaladeError(f"cifar10-bin:{arg} holds CIFAR-10's pickled Python version, which is never loaded "
                              "(unpickling can run code); use the binary version (data_batch_*.bin, test_batch.bin)")
    raise MaladeError(f"cifar10-bin:{arg}: no data_batch_*.bin or test_batch.bin found")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 3, 32, 32] and labels [N] from one binary batch file."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MaladeError(f"cannot read {path}: {exc}") from None
    if raw.size == 0 or raw.size % RECORD:
        raise MaladeError(f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a multiple of the "
                          f"{RECORD}-byte record")
    records = raw.reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def _class_names(folder: Path) -> tuple[str, ...] | None:
    meta = folder / "batches.meta.txt"
    if not meta.is_file():
        return None
    names = tuple(line.strip() for line in meta.read_text(errors="replace").splitlines() if line.strip())
    return names or None


def load_cifar10_bin_split(arg: str, split: str, options: ReadOptions) -> ImageSet:
    """``split`` of the binary CIFAR-10 in ``arg``; every batch file of the split must be there."""
    folder = _folder(arg)
    paths = [folder / name for name in FILES[split]]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise MaladeError(f"cifar10-bin:{arg}: {split} split lacks {', '.join(missing)}")
    parts = [read_batch(p) for p in paths]
    images = np.concatenate([p[0] for p in parts])
    names = _class_names(folder)
    labels = check_labels(np.concatenate([p[1] for p in parts]), len(images), f"cifar10-bin:{arg}",
                          len(names) if names else None)
    return ImageSet(to_unit_float(images, f"cifar10-bin:{arg}"), labels, names)
