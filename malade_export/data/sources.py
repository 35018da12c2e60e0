"""``--dataset`` names -> the source that reads them, dispatched by prefix (``folder:DIR``, ``npz:FILE``, ...).

A source is ``load(name, arg, split, options) -> ImageSet`` registered under a bare name
(``fashion-mnist``) or a prefix (``folder``, written ``folder:<arg>``); adding one is one module
and one line here.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import MaladeError
from .imageset import ImageSet
from .options import ReadOptions
from .resize import resize_array

SourceFn = Callable[[str, str, str, ReadOptions], ImageSet]

SPLITS = ("train", "test")


def _folder(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .folder import load_folder_split

    return load_folder_split(arg, split, options)


def _npz(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .npz import load_npz_split

    return load_npz_split(arg, split, options)


def _cifar10_bin(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .cifar10_bin import load_cifar10_bin_split

    return load_cifar10_bin_split(arg, split, options)


def _idx(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .idx_sets import load_idx_split

    return load_idx_split(name, arg, split, options)


# name -> (source, takes an argument after "name:", what to show in help and errors)
SOURCES: dict[str, tuple[SourceFn, bool, str]] = {
    "fashion-mnist": (_idx, False, "fashion-mnist"),
    "mnist": (_idx, False, "mnist"),
    "idx": (_idx, True, "idx:<folder>"),
    "folder": (_folder, True, "folder:<dir>"),
    "npz": (_npz, True, "npz:<file>"),
    "cifar10-bin": (_cifar10_bin, True, "cifar10-bin:<dir>"),
}
DATASET_NAMES = tuple(spec for _, _, spec in SOURCES.values())


def parse_dataset(name: str) -> tuple[str, str]:
    """'folder:imgs/' -> ('folder', 'imgs/'); 'mnist' -> ('mnist', ''); unknown names are one line."""
    prefix, sep, arg = name.partition(":")
    entry = SOURCES.get(prefix)
    if entry is None or (sep == "") == entry[1] or (entry[1] and not arg):
        raise MaladeError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return prefix, arg


def load_split(name: str, split: str = "train", data_dir: str | Path | None = None,
               options: ReadOptions | None = None) -> ImageSet:
    """Load ``split`` ('train' or 'test') of dataset ``name`` (see ``DATASET_NAMES``), resized if asked."""
    if split not in SPLITS:
        raise MaladeError(f"unknown split {split!r}; choose 'train' or 'test'")
    options = options or ReadOptions()
    if data_dir is not None:
        options = ReadOptions(**{**options.__dict__, "data_dir": data_dir})
    prefix, arg = parse_dataset(name)
    data = SOURCES[prefix][0](prefix, arg, split, options)
    if options.image_size is not None and tuple(data.input_shape[1:]) != options.image_size:
        data = ImageSet(resize_array(data.images, options.image_size), data.labels, data.class_names)
    return data
