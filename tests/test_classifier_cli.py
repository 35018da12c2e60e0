"""Every command that takes a classifier takes the user's: train-sdae, malade-export and eval."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from user_classifiers import MEAN, STD, trained_tiny_net, write_image_folder, write_onnx, write_pt2, write_torchscript

from malade_export.checkpoint import load_checkpoint
from malade_export.classifier_sources.conventions import InputConventions
from malade_export.classifier_sources.onnx_source import preprocess_numpy
from malade_export.cli.export import main as export_main
from malade_export.cli.main import main
from malade_export.runtime import Session

NORMALISATION = ["--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD))]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, torch.nn.Module, Path, Path]:
    """An image folder, the user's net, its ONNX file, and an sDAE trained under it by `malade train-sdae`."""
    root = tmp_path_factory.mktemp("clfcli")
    images, net = write_image_folder(root / "imgs"), trained_tiny_net()
    user_onnx = write_onnx(net, root / "user.onnx")
    result = CliRunner().invoke(main, ["train-sdae", "--classifier", str(user_onnx), *NORMALISATION, "--dataset",
                                       f"folder:{images}", "--epochs", "3", "--channels", "16", "--batch-size", "8",
                                       "--lr", "3e-3", "--val-size", "6",
                                       "--out", str(root / "sdae")])
    assert result.exit_code == 0, result.output
    return images, net, user_onnx, root / "sdae.safetensors"


def test_train_sdae_records_the_declared_conventions(trained) -> None:
    _, _, _, sdae = trained
    assert load_checkpoint(sdae).config["classifier_conventions"]["mean"] == list(MEAN)


def test_export_takes_a_torchscript_classifier_with_the_sdaes_conventions(trained, tmp_path: Path) -> None:
    _, net, _, sdae = trained
    out = tmp_path / "d.onnx"
    result = CliRunner().invoke(export_main, ["--classifier", str(write_torchscript(net, tmp_path / "u.pt")),
                                              "--sdae", str(sdae), "--steps", "2", str(out)])
    assert result.exit_code == 0, result.output
    prediction = Session(out).predict(np.random.default_rng(0).random((3, 3, 16, 16), dtype=np.float32), seed=1)
    with torch.no_grad():
        expected = net(torch.from_numpy(preprocess_numpy(prediction.purified, InputConventions(MEAN, STD)))).numpy()
    assert np.abs(prediction.logits - expected).max() < 1e-4


def test_eval_takes_a_pt2_classifier(trained, tmp_path: Path) -> None:
    images, net, _, sdae = trained
    result = CliRunner().invoke(main, ["eval", "--classifier", str(write_pt2(net, tmp_path / "u.pt2")),
                                       "--dataset", f"folder:{images}", "--defense", "malade", "--sdae", str(sdae),
                                       "--steps", "2", "--attack", "fgsm", "--eps", "0.03", "--n", "6",
                                       "--holdout", "0"])
    assert result.exit_code == 0, result.output
    assert "malade / fgsm: clean" in result.output


def test_eval_undefended_onnx_classifier_is_accurate(trained) -> None:
    images, _, user_onnx, _ = trained
    result = CliRunner().invoke(main, ["eval", "--classifier", str(user_onnx), *NORMALISATION, "--dataset",
                                       f"folder:{images}", "--defense", "none", "--attack", "none", "--n", "24",
                                       "--holdout", "0"])
    assert result.exit_code == 0, result.output
    assert "clean 100.0%" in result.output.replace(" %", "%")
