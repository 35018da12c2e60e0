"""``--dataset`` names -> the source that reads them, dispatched by prefix (``folder:DIR``, ``npz:FILE``, ...).

A source is ``load(name, arg, split, options) -> ImageSet`` registered under a bare name
(``fashion-mnist``) or a prefix (``folder``, written ``folder:<arg>``); adding one is one module
and one registered reader here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MaladeError
from ..registry import Registry
from .imageset import ImageSet
from .options import ReadOptions
from .resize import resize_array

SourceFn = Callable[[str, str, str, ReadOptions], ImageSet]

SPLITS = ("train", "test")


@dataclass(frozen=True)
class DataSource:
    """How to read one kind of ``--dataset``: ``takes_arg`` for prefixes written ``name:<arg>``."""

    load: SourceFn
    takes_arg: bool
    spec: str  # what help texts and errors show


SOURCES: Registry[DataSource] = Registry("dataset")


def _source(name: str, takes_arg: bool, spec: str) -> Callable[[SourceFn], SourceFn]:
    """Register a reader; the readers import their modules lazily so Pillow loads only for folders."""

    def add(load: SourceFn) -> SourceFn:
        SOURCES.register(name)(DataSource(load, takes_arg, spec))
        return load

    return add


@_source("idx", True, "idx:<folder>")  # decorators apply bottom-up: fashion-mnist is listed first
@_source("mnist", False, "mnist")
@_source("fashion-mnist", False, "fashion-mnist")
def _idx(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .idx_sets import load_idx_split

    return load_idx_split(name, arg, split, options)


@_source("folder", True, "folder:<dir>")
def _folder(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .folder import load_folder_split

    return load_folder_split(arg, split, options)


@_source("npz", True, "npz:<file>")
def _npz(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .npz import load_npz_split

    return load_npz_split(arg, split, options)


@_source("cifar10-bin", True, "cifar10-bin:<dir>")
def _cifar10_bin(name: str, arg: str, split: str, options: ReadOptions) -> ImageSet:
    from .cifar10_bin import load_cifar10_bin_split

    return load_cifar10_bin_split(arg, split, options)


DATASET_NAMES = tuple(SOURCES.get(name).spec for name in SOURCES)


def parse_dataset(name: str) -> tuple[str, str]:
    """'folder:imgs/' -> ('folder', 'imgs/'); 'mnist' -> ('mnist', ''); unknown names are one line."""
    prefix, sep, arg = name.partition(":")
    entry = SOURCES.get(prefix) if prefix in SOURCES else None
    if entry is None or (sep == "") == entry.takes_arg or (entry.takes_arg and not arg):
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
    data = SOURCES.get(prefix).load(prefix, arg, split, options)
    if options.image_size is not None and tuple(data.input_shape[1:]) != options.image_size:
        data = ImageSet(resize_array(data.images, options.image_size), data.labels, data.class_names)
    return data
