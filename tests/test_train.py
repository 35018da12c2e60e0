import json

from click.testing import CliRunner

from malade_export.checkpoint import load_checkpoint
from malade_export.cli.main import main
from malade_export.train import accuracy
from malade_export.train.objectives import class_balance_weights

import numpy as np


def test_train_classifier_cli_writes_loadable_checkpoint(tmp_path, slice_dir, slice_data):
    out = tmp_path / "a"
    result = CliRunner().invoke(main, ["train-classifier", "--arch", "D", "--epochs", "2", "--data-dir", str(slice_dir),
                                       "--val-size", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "epoch 2/2" in result.output and "val_accuracy" in result.output
    ckpt = load_checkpoint(tmp_path / "a.safetensors", "classifier")
    assert ckpt.config["command"].startswith("malade train-classifier")
    assert ckpt.config["training"]["epochs"] == 2
    assert accuracy(ckpt.model, slice_data[2]) > 0.6  # learned something real from 1700 images


def test_wrong_data_dir_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "a"
    result = CliRunner().invoke(main, ["train-classifier", "--data-dir", str(tmp_path / "nope"), "--out", str(out)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "train-images-idx3-ubyte" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_sdae_keeps_classifier_accuracy_better_than_plain_dae(tiny_checkpoints, slice_data):
    clf = load_checkpoint(tiny_checkpoints["classifier"]).model
    sdae = load_checkpoint(tiny_checkpoints["sdae"], "sdae")
    dae = load_checkpoint(tiny_checkpoints["dae"], "dae").model
    test = slice_data[2]
    assert sdae.config["sigma"] == 0.3 and sdae.config["classifier_sha256"]
    # The supervised term is what keeps reconstructions classifiable.
    assert accuracy(clf, test, transform=sdae.model) >= accuracy(clf, test, transform=dae) - 0.02


def test_class_balance_weights_equalise_classes():
    labels = np.array([0] * 90 + [1] * 10)
    weights = class_balance_weights(labels, 2)
    counts = np.bincount(labels)
    assert np.allclose(weights.numpy() * counts, [50, 50])
