"""Decoded image-folder arrays kept on disk, so a second run skips decoding tens of thousands of files.

The key hashes every file's path, size and mtime, the labels, class names and the decode options:
any change to the tree misses the cache. Entries are plain ``.npz`` (no pickle), written atomically;
a cache that cannot be read or written is ignored, never an error.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import MaladeError
from .options import ReadOptions

CACHE_ENV = "MALADE_CACHE_DIR"
FORMAT = 1  # bump when decode() changes what it produces


def cache_dir() -> Path:
    """$MALADE_CACHE_DIR, else $XDG_CACHE_HOME/malade-export, else ~/.cache/malade-export."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "malade-export"


def cache_key(files: list[Path], class_names: tuple[str, ...], labels: np.ndarray, options: ReadOptions) -> str | None:
    """sha256 over the decode settings and every file's (path, size, mtime); None if a file cannot be stat'ed."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": FORMAT, "size": options.image_size, "skip": options.skip_bad_images,
                              "classes": list(class_names)}).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    try:
        for path in files:
            stat = path.stat()
            digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / "folders" / f"{key}.npz"


def load_cached(key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(uint8 images [N, C, H, W], labels) stored under ``key``, or None."""
    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or labels.shape != (len(images),):
        return None
    return images, labels.astype(np.int64)


def save_cached(key: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Store the arrays under ``key``; a read-only or full disk only costs the next run its speed."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, images=images, labels=labels)
    except (OSError, MaladeError):
        return
