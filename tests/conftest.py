"""Shared fixtures: the shipped Fashion-MNIST slice and tiny trained checkpoints built once per run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from malade_export.checkpoint import file_sha256, save_checkpoint
from malade_export.data import ImageSet, load_split, train_val_split, write_idx
from malade_export.models import build_model
from malade_export.train import Denoiser, Supervision, TrainSettings, train_classifier, train_dae

SLICE_DIR = Path(__file__).parent / "data" / "fashion-mnist-slice"


def quiet(_: str) -> None:
    """Training log sink for tests."""


@pytest.fixture(scope="session")
def slice_dir() -> Path:
    return SLICE_DIR


@pytest.fixture(scope="session")
def slice_data():
    train = load_split("fashion-mnist", "train", SLICE_DIR)
    test = load_split("fashion-mnist", "test", SLICE_DIR)
    fit, val = train_val_split(train, val_size=300)
    return fit, val, test


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory, slice_data) -> dict[str, Path]:
    """Classifier D (fast MLP, one epoch) and a narrow sDAE / DAE (two epochs: enough to pass the usefulness check)."""
    torch.set_num_threads(1)
    fit, val, _ = slice_data
    folder = tmp_path_factory.mktemp("ckpt")
    settings = TrainSettings(epochs=1, batch_size=64, command="pytest")
    clf = train_classifier("D", fit, val, settings, log=quiet)
    paths = {"classifier": save_checkpoint(clf.model, clf.config, folder / "clf")}
    denoiser_settings = TrainSettings(epochs=2, batch_size=64, command="pytest")
    sdae = train_dae(fit, val, denoiser_settings, denoiser=Denoiser(8, 3),
                     supervision=Supervision(clf.model, file_sha256(paths["classifier"])), log=quiet)
    paths["sdae"] = save_checkpoint(sdae.model, sdae.config, folder / "sdae")
    dae = train_dae(fit, val, denoiser_settings, denoiser=Denoiser(8, 3), log=quiet)
    paths["dae"] = save_checkpoint(dae.model, dae.config, folder / "dae")
    return paths


SHAPE = [1, 28, 28]


def template_images(n: int, seed: int) -> ImageSet:
    """Ten noisy binary templates: learnable in a few epochs, yet fragile at small eps."""
    templates = (np.random.default_rng(123).random((10, 1, 28, 28)) < 0.2).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.clip(0.3 + 0.3 * templates[labels] + 0.25 * rng.standard_normal((n, 1, 28, 28)), 0, 1)
    return ImageSet(images.astype(np.float32), labels.astype(np.int64))


def synthetic(n: int, seed: int) -> ImageSet:
    """``template_images`` quantised to 8 bits so they survive an IDX round trip."""
    data = template_images(n, seed)
    return ImageSet((np.round(data.images * 255) / 255).astype(np.float32), data.labels)


@pytest.fixture(scope="session")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Synthetic IDX data with a classifier E trained on it and an untrained sDAE: fast, and learnable."""
    root = tmp_path_factory.mktemp("eval")
    data = root / "data"
    data.mkdir()
    train, test = synthetic(300, 0), synthetic(200, 1)
    for prefix, split in (("train", train), ("t10k", test)):
        write_idx(data / f"{prefix}-images-idx3-ubyte", np.round(split.images[:, 0] * 255).astype(np.uint8))
        write_idx(data / f"{prefix}-labels-idx1-ubyte", split.labels.astype(np.uint8))
    trained = train_classifier("E", train, test, TrainSettings(epochs=3, batch_size=50), log=lambda _: None)
    sdae_config = {"kind": "sdae", "input_shape": SHAPE, "channels": 8, "kernel": 5, "sigma": 0.3}
    return {
        "dataset": f"idx:{data}", "model": trained.model, "test": test, "root": root,
        "classifier": save_checkpoint(trained.model, trained.config, root / "clf"),
        "sdae": save_checkpoint(build_model(sdae_config), sdae_config, root / "sdae"),
    }
