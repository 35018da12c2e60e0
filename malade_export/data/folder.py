"""``folder:DIR``: an image-folder tree, one subfolder per class, read with Pillow.

``DIR/train/<class>/...`` and ``DIR/test/<class>/...`` give the two splits; a tree with class
folders directly under ``DIR`` is split (seed 0, ``--test-fraction``). Class names are the folder
names, sorted. Images are grey when every file is grey (1/L/LA/I/F modes), else RGB (grey images
repeated over three channels); alpha is dropped. Decoded arrays are cached (see folder_cache.py).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..errors import MaladeError
from .folder_cache import cache_key, load_cached, save_cached
from .imageset import ImageSet, check_fits_in_memory, held_out_split
from .options import ReadOptions
from .resize import resize_pil

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
                            ".pbm", ".pnm"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Listing:
    """The files of one split: paths, their class index, the class names, and the tree they came from."""

    root: Path
    files: list[Path]
    labels: np.ndarray
    class_names: tuple[str, ...]


def _class_dirs(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _images_under(folder: Path) -> list[Path]:
    found = []
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent) / n for n in sorted(names)
                  if not n.startswith(".") and Path(n).suffix.lower() in IMAGE_SUFFIXES]
    return found


def list_split(root: Path, class_names: tuple[str, ...] | None = None) -> Listing:
    """Every image under ``root``'s class folders; ``class_names`` (the train split's) fixes the label order."""
    dirs = _class_dirs(root)
    if not dirs:
        raise MaladeError(f"folder:{root} has no class subfolders; expected {root}/<class>/<image files>")
    names = tuple(d.name for d in dirs)
    if class_names is not None:
        unknown = sorted(set(names) - set(class_names))
        if unknown:
            raise MaladeError(f"folder:{root} has class folder {unknown[0]!r} that the training split lacks")
        names = class_names
    index = {name: i for i, name in enumerate(names)}
    files: list[Path] = []
    labels: list[int] = []
    for folder in dirs:
        found = _images_under(folder)
        if not found and class_names is None:
            raise MaladeError(f"folder:{root}: class folder {folder.name!r} holds no image files "
                              f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        files += found
        labels += [index[folder.name]] * len(found)
    return Listing(root, files, np.asarray(labels, dtype=np.int64), names)


def decode(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 [H, W] (grey) or [H, W, 3] (colour), resized to ``size``; raises DECODE_ERRORS."""
    with Image.open(path) as image:
        if size is not None and image.format == "JPEG":
            image.draft(image.mode, (size[1], size[0]))  # decode at a reduced scale when shrinking a lot
        image.load()
        if image.mode in GREY_MODES:
            if image.mode.startswith("I"):
                wide = np.clip(np.asarray(image, dtype=np.int64), 0, 65535) >> 8
                image = Image.fromarray(wide.astype(np.uint8), mode="L")
            else:
                image = image.convert("L")
        else:
            image = image.convert("RGB")
        return np.asarray(resize_pil(image, size), dtype=np.uint8)


def _decode_all(listing: Listing, options: ReadOptions, desc: str) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Decoded arrays, their labels, and how many files were skipped as unreadable."""
    arrays: list[np.ndarray] = []
    kept: list[int] = []
    skipped: list[str] = []
    for i, path in enumerate(tqdm(listing.files, desc=desc, unit="img", disable=not options.progress,
                                  mininterval=0.5)):
        try:
            arrays.append(decode(path, options.image_size))
        except DECODE_ERRORS as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not options.skip_bad_images:
                raise MaladeError(
                    f"cannot read image {path}: {reason} (pass --skip-bad-images to skip such files)") from None
            skipped.append(f"{path}: {reason}")
            continue
        kept.append(i)
        if len(arrays) == 1:
            check_fits_in_memory(len(listing.files) * arrays[0].size, f"folder:{listing.root}")
    if skipped:
        print(f"{desc}: skipped {len(skipped)} unreadable image(s), first {skipped[0]}", file=sys.stderr)
    return arrays, listing.labels[kept], len(skipped)


def _stack(arrays: list[np.ndarray], listing: Listing) -> np.ndarray:
    """uint8 [N, C, H, W]: one size for all (else a one-line error), grey widened to RGB if any is colour."""
    if not arrays:
        raise MaladeError(f"folder:{listing.root} holds no readable images")
    shapes = {a.shape[:2] for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape[:2]
        other = next(i for i, a in enumerate(arrays) if a.shape[:2] != first)
        raise MaladeError(f"folder:{listing.root}: images differ in size ({first[0]}x{first[1]} and "
                          f"{arrays[other].shape[0]}x{arrays[other].shape[1]}); pass --image-size HxW to resize them")
    colour = any(a.ndim == 3 for a in arrays)
    out = np.empty((len(arrays), 3 if colour else 1) + arrays[0].shape[:2], dtype=np.uint8)
    for i, a in enumerate(arrays):
        out[i] = a.transpose(2, 0, 1) if a.ndim == 3 else a[None]
    return out


def read_listing(listing: Listing, options: ReadOptions, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, C, H, W] and labels for ``listing``, from the cache when its files are unchanged."""
    key = cache_key(listing.files, listing.class_names, listing.labels, options) if options.cache else None
    cached = load_cached(key) if key else None
    if cached is not None:
        return cached
    arrays, labels, _ = _decode_all(listing, options, desc)
    images = _stack(arrays, listing)
    if key:
        save_cached(key, images, labels)
    return images, labels


def _to_set(images: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> ImageSet:
    return ImageSet(images.astype(np.float32) / np.float32(255.0), labels, names)


def load_folder_split(arg: str, split: str, options: ReadOptions) -> ImageSet:
    """``split`` of the image folder ``arg``: its own train/test subtree, else a held-out part of the whole."""
    root = Path(arg)
    if not root.is_dir():
        raise MaladeError(f"folder:{arg}: no such folder")
    if (root / "train").is_dir():
        train = list_split(root / "train")
        if split == "train":
            listing = train
        elif (root / "test").is_dir():
            listing = list_split(root / "test", train.class_names)
        else:
            raise MaladeError(f"folder:{arg} has train/ but no test/ subfolder; add one, or put the class "
                              "folders directly under it to hold out a test split")
        images, labels = read_listing(listing, options, f"folder {listing.root.name}")
        return _to_set(images, labels, listing.class_names)
    listing = list_split(root)
    images, labels = read_listing(listing, options, f"folder {root.name}")
    whole = ImageSet(images, labels, listing.class_names)
    train_part, test_part = held_out_split(whole, options.test_fraction)
    part = train_part if split == "train" else test_part
    return _to_set(part.images, part.labels, listing.class_names)
