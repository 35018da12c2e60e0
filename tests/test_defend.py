"""`malade defend`: a user's classifier and an image folder in, one fused ONNX file out, checked."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from user_classifiers import (
    CLASS_NAMES,
    MEAN,
    STD,
    class_images,
    trained_tiny_net,
    write_image_folder,
    write_onnx,
    write_pt2,
    write_torchscript,
)

from malade_export.classifier_sources.conventions import InputConventions
from malade_export.classifier_sources.onnx_source import preprocess_numpy, run_onnxruntime
from malade_export.cli.main import main
from malade_export.runtime import Session

CONVENTIONS = InputConventions(MEAN, STD)
# small enough for a test, large enough to pass the usefulness check (recon MSE ~0.3x the pixel variance)
FAST = ["--epochs", "3", "--channels", "16", "--batch-size", "8", "--lr", "3e-3", "--steps", "2", "--n", "12",
        "--val-size", "6"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, torch.nn.Module, Path]:
    root = tmp_path_factory.mktemp("defend")
    return write_image_folder(root / "imgs"), trained_tiny_net(), root


def _defend(classifier: Path, images: Path, out: Path, *extra: str) -> str:
    args = ["defend", "--classifier", str(classifier), "--dataset", f"folder:{images}",
            "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)), *FAST, *extra,
            "--out-dir", str(out.parent / "ckpt"), str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def _one_image_per_class() -> list[np.ndarray]:
    return [class_images(label, 1, 900 + label)[0].transpose(2, 0, 1).astype(np.float32) / 255 for label in range(3)]


def _purified_and_logits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(3).random((5, 3, 16, 16), dtype=np.float32)
    prediction = Session(path).predict(x, seed=7)
    return prediction.purified, prediction.logits


def test_onnx_classifier_and_image_folder_give_one_fused_file(setup, tmp_path: Path) -> None:
    images, net, _ = setup
    user_path = write_onnx(net, tmp_path / "user.onnx")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = _defend(user_path, images, out_dir / "defended.onnx")
    assert sorted(p.name for p in out_dir.iterdir()) == ["ckpt", "defended.onnx"]
    assert "FGSM" in output and "reconstruction MSE" in output and "usefulness check passed" in output
    clean_line = next(line for line in output.splitlines() if "clean accuracy" in line)
    assert "undefended 100.0 %" in clean_line  # the classifier learned the folder's colours, and the report says so
    purified, logits = _purified_and_logits(out_dir / "defended.onnx")
    x = np.stack(_one_image_per_class())
    prediction = Session(out_dir / "defended.onnx").predict(x, seed=1)
    assert prediction.class_names == CLASS_NAMES  # the image folder's names, carried by the sDAE into the file
    assert prediction.label_names == list(CLASS_NAMES)  # and each image is called by its own class
    user = onnx.load(str(user_path))
    expected = run_onnxruntime(user, preprocess_numpy(purified, CONVENTIONS))
    assert np.abs(logits - expected).max() < 1e-4
    fused = onnx.load(str(out_dir / "defended.onnx"))
    nodes = {n.name: n for n in fused.graph.node}
    weights = {t.name: t for t in fused.graph.initializer}
    for node in user.graph.node:
        assert nodes[node.name] == node  # the user's nodes, attributes and edges unchanged
    for tensor in user.graph.initializer:
        assert weights[tensor.name] == tensor  # the user's weights, bit for bit


@pytest.mark.parametrize("writer,name", [(write_torchscript, "user.pt"), (write_pt2, "user.pt2")])
def test_torch_classifiers_give_one_fused_file(setup, tmp_path: Path, writer, name: str) -> None:
    images, net, _ = setup
    out = tmp_path / "defended.onnx"
    _defend(writer(net, tmp_path / name), images, out)
    purified, logits = _purified_and_logits(out)
    with torch.no_grad():
        expected = net(torch.from_numpy(preprocess_numpy(purified, CONVENTIONS))).numpy()
    assert np.abs(logits - expected).max() < 1e-4


def test_wrong_image_size_is_one_line(setup, tmp_path: Path) -> None:
    images, net, _ = setup
    args = ["defend", "--classifier", str(write_onnx(net, tmp_path / "user.onnx")), "--dataset", f"folder:{images}",
            "--image-size", "12", *FAST, str(tmp_path / "out.onnx")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == ("Error: classifier user.onnx takes input [3, 16, 16] but folder:"
                                     f"{images} has images [3, 12, 12]")
    assert not (tmp_path / "out.onnx").exists()


def test_python_api_defends_an_nn_module(setup, tmp_path: Path) -> None:
    from malade_export import DefendConfig, defend

    images, net, _ = setup
    config = DefendConfig(classifier=net, dataset=f"folder:{images}", out=tmp_path / "api.onnx",
                          conventions=CONVENTIONS, epochs=3, channels=16, batch_size=8, lr=3e-3, steps=2, val_size=6,
                          eval_n=12)
    report = defend(config, log=lambda _: None)
    assert report.out.is_file() and report.sdae_path.is_file()
    assert report.classifier_max_abs_dlogits < 1e-4 and report.clean_undefended == 1.0


def test_a_useless_sdae_stops_defend_before_anything_is_written(setup, tmp_path: Path) -> None:
    images, net, _ = setup
    out = tmp_path / "out" / "defended.onnx"
    out.parent.mkdir()
    args = ["defend", "--classifier", str(write_onnx(net, tmp_path / "user.onnx")), "--dataset", f"folder:{images}",
            "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)), *FAST, "--lr", "10", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: the sDAE failed its usefulness check: recon MSE") and "nothing written" in last
    assert list(out.parent.iterdir()) == []
