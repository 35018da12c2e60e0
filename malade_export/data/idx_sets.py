"""IDX datasets: Fashion-MNIST from Debian's package, MNIST or any IDX folder the user names.

Nothing is downloaded: Fashion-MNIST comes from ``dataset-fashion-mnist``, MNIST from --data-dir.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import MaladeError
from .idx import read_idx
from .imageset import ImageSet, check_labels, to_unit_float
from .options import ReadOptions

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_DIR_ENV = "MALADE_DATA_DIR"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")


def _candidate_dirs(name: str, arg: str, data_dir: str | Path | None) -> tuple[list[Path], str]:
    """Folders to look in, and the hint to print when nothing is there."""
    if name == "idx":
        return [Path(arg)], "point idx:<folder> at a folder holding the four IDX files"
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


def load_idx_split(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    """``split`` of an IDX dataset: ``name`` is 'fashion-mnist', 'mnist' or 'idx' (``arg`` = its folder)."""
    prefix = SPLIT_PREFIX[split]
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    folders, hint = _candidate_dirs(name, arg, options.data_dir)
    label = f"idx:{arg}" if name == "idx" else name
    for folder in folders:
        found = [_find(folder, stem) for stem in stems]
        if all(found):
            data = _to_image_set(*found)  # type: ignore[arg-type]
            if name == "fashion-mnist":
                data = ImageSet(data.images, data.labels, FASHION_MNIST_CLASSES)
            return data
    raise MaladeError(
        f"{label} {split} data not found: expected {stems[0]}[.gz] and {stems[1]}[.gz] in {folders[0]}; {hint}"
    )


def _to_image_set(images_path: Path, labels_path: Path) -> ImageSet:
    raw = read_idx(images_path)
    if raw.ndim == 3:
        raw = raw[:, None]
    elif raw.ndim == 4:  # N, H, W, C (colour IDX variants)
        raw = raw.transpose(0, 3, 1, 2)
    else:
        raise MaladeError(f"{images_path} holds {raw.ndim}-d data; expected images [N, H, W] or [N, H, W, C]")
    labels = check_labels(read_idx(labels_path), len(raw), str(labels_path))
    return ImageSet(to_unit_float(raw, str(images_path)), labels)
