"""``npz:FILE``: images and labels in a NumPy ``.npz`` archive, read without pickle.

Keys: ``x`` and ``y`` (a held-out test split is drawn from them), or ``x_train``/``y_train`` and
``x_test``/``y_test``; optional ``class_names`` (strings). ``x`` is [N, H, W], [N, H, W, C] or
[N, C, H, W] with C in {1, 3}, uint8 (0-255) or float in [0, 1]. Shapes and dtypes are read from
the archive's headers and checked before any array is loaded.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import MaladeError
from .imageset import ImageSet, check_fits_in_memory, check_labels, held_out_split, to_unit_float
from .options import ReadOptions

CHANNELS = (1, 3)


def _header(archive: zipfile.ZipFile, key: str, source: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of member ``key`` from its .npy header, without reading its data."""
    try:
        with archive.open(f"{key}.npy") as handle:
            version = np.lib.format.read_magic(handle)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = reader(handle)
    except (KeyError, ValueError, OSError) as exc:
        raise MaladeError(f"{source}: cannot read array {key!r}: {exc}") from None
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _layout(shape: tuple[int, ...], source: str, key: str) -> str:
    """'NHW', 'NHWC' or 'NCHW' for an image array's shape."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        if shape[1] in CHANNELS:
            return "NCHW"
        if shape[3] in CHANNELS:
            return "NHWC"
    raise MaladeError(f"{source}: {key!r} has shape {list(shape)}; expected [N, H, W], [N, H, W, C] or "
                      f"[N, C, H, W] with C = 1 or 3")


def _read(path: Path, keys: tuple[str, str], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (float32 NCHW) and labels under ``keys``, checked by header before loading."""
    x_key, y_key = keys
    with zipfile.ZipFile(path) as archive:
        x_shape, x_dtype = _header(archive, x_key, source)
        y_shape, _ = _header(archive, y_key, source)
    layout = _layout(x_shape, source, x_key)
    if x_dtype != np.uint8 and not np.issubdtype(x_dtype, np.floating):
        raise MaladeError(f"{source}: {x_key!r} has dtype {x_dtype}; expected uint8 or float")
    if y_shape != (x_shape[0],):
        raise MaladeError(f"{source}: {y_key!r} has shape {list(y_shape)} for {x_shape[0]} images in {x_key!r}")
    check_fits_in_memory(int(np.prod(x_shape, dtype=np.int64)), source)
    with np.load(path, allow_pickle=False) as stored:
        raw, labels = stored[x_key], stored[y_key]
    if layout == "NHW":
        raw = raw[:, None]
    elif layout == "NHWC":
        raw = raw.transpose(0, 3, 1, 2)
    return to_unit_float(raw, f"{source} {x_key!r}"), labels


def _class_names(path: Path, source: str) -> tuple[str, ...] | None:
    with np.load(path, allow_pickle=False) as stored:
        if "class_names" not in stored.files:
            return None
        try:
            names = stored["class_names"]
        except ValueError as exc:  # an object array: refused rather than unpickled
            raise MaladeError(f"{source}: 'class_names' cannot be read without pickle ({exc}); store it as "
                              "np.array([...], dtype=str)") from None
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise MaladeError(f"{source}: 'class_names' must be a 1-d array of strings; found {names.dtype} "
                          f"{list(names.shape)}")
    return tuple(str(n) for n in names.astype(str))


def load_npz_split(arg: str, split: str, options: ReadOptions) -> ImageSet:
    """``split`` of the archive ``arg``: its x_train/x_test arrays, else a held-out part of x/y."""
    path, source = Path(arg), f"npz:{arg}"
    if not path.is_file():
        raise MaladeError(f"{source}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy") for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise MaladeError(f"{source} is not an .npz archive: {exc}") from None
    names = _class_names(path, source)
    if {"x_train", "y_train", "x_test", "y_test"} <= members:
        images, labels = _read(path, (f"x_{split}", f"y_{split}"), source)
        return ImageSet(images, check_labels(labels, len(images), source, len(names) if names else None), names)
    if not {"x", "y"} <= members:
        raise MaladeError(f"{source} holds {sorted(members)}; expected arrays 'x' and 'y' "
                          "(or x_train, y_train, x_test, y_test)")
    images, labels = _read(path, ("x", "y"), source)
    whole = ImageSet(images, check_labels(labels, len(images), source, len(names) if names else None), names)
    train, test = held_out_split(whole, options.test_fraction)
    return train if split == "train" else test
