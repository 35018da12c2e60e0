"""Shared fixtures: the shipped Fashion-MNIST slice and tiny trained checkpoints built once per run."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from malade_export.checkpoint import file_sha256, save_checkpoint
from malade_export.data import load_split, train_val_split
from malade_export.train import TrainSettings, train_classifier, train_dae

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
    sdae = train_dae(fit, val, denoiser_settings, channels=8, kernel=3, classifier=clf.model,
                     classifier_sha256=file_sha256(paths["classifier"]), log=quiet)
    paths["sdae"] = save_checkpoint(sdae.model, sdae.config, folder / "sdae")
    dae = train_dae(fit, val, denoiser_settings, channels=8, kernel=3, log=quiet)
    paths["dae"] = save_checkpoint(dae.model, dae.config, folder / "dae")
    return paths
