"""Class names travel: image-folder names -> checkpoint configs -> the exported file -> Session.predict."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from PIL import Image

from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.cli.export import main as export_main
from malade_export.cli.main import main
from malade_export.data import ReadOptions, load_split
from malade_export.data.idx_sets import FASHION_MNIST_CLASSES
from malade_export.runtime import Session
from malade_export.train import Denoiser, TrainSettings, train_dae

NAMES = ["ankle-boot", "bag", "coat", "dress", "pullover", "sandal", "shirt", "sneaker", "t-shirt", "trouser"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory, slice_data):
    """The Fashion-MNIST slice as PNG files under train/<name>/ and test/<name>/ (names sorted = label order)."""
    root = tmp_path_factory.mktemp("imgs")
    fit, _, test = slice_data
    for split, data, count in (("train", fit, 400), ("test", test, 100)):
        for i in range(count):
            folder = root / split / NAMES[data.labels[i]]
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.rint(data.images[i, 0] * 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(folder / f"{i:04d}.png")
    return root


@pytest.mark.filterwarnings("ignore:.*trained under a different classifier")
def test_folder_names_reach_checkpoints_export_metadata_and_predict(image_folder, tiny_checkpoints, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("MALADE_CACHE_DIR", str(tmp_path / "cache"))
    dataset = f"folder:{image_folder}"
    result = CliRunner().invoke(main, ["train-classifier", "--arch", "D", "--dataset", dataset, "--epochs", "1",
                                       "--out", str(tmp_path / "clf")])
    assert result.exit_code == 0, result.output
    clf = load_checkpoint(tmp_path / "clf.safetensors", "classifier")
    assert clf.config["class_names"] == NAMES and clf.config["num_classes"] == 10

    train = load_split(dataset, "train", options=ReadOptions(progress=False))
    dae = train_dae(train.subset(slice(0, 300)), train.subset(slice(300, 360)), TrainSettings(epochs=1),
                    denoiser=Denoiser(4, 3), log=lambda _: None)
    assert dae.config["class_names"] == NAMES

    out = tmp_path / "d.onnx"
    result = CliRunner().invoke(export_main, ["--classifier", str(tmp_path / "clf.safetensors"), "--sdae",
                                              str(tiny_checkpoints["sdae"]), "--steps", "2", str(out)])
    assert result.exit_code == 0, result.output
    props = {p.key: p.value for p in onnx.load(str(out), load_external_data=False).metadata_props}
    assert json.loads(props["malade.class_names"]) == NAMES

    session = Session(out)
    prediction = session.predict(train.images[:5], seed=0)
    assert prediction.class_names == tuple(NAMES)
    assert prediction.label_names == [NAMES[i] for i in prediction.labels]


@pytest.mark.filterwarnings("ignore:.*trained under a different classifier")
def test_fashion_mnist_names_and_files_without_names(tiny_checkpoints, tmp_path, slice_data):
    out = tmp_path / "fashion.onnx"
    result = CliRunner().invoke(export_main, ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae",
                                              str(tiny_checkpoints["sdae"]), "--steps", "2", str(out)])
    assert result.exit_code == 0, result.output
    images = slice_data[2].images[:2]
    assert Session(out).predict(images, seed=0).class_names == FASHION_MNIST_CLASSES

    unnamed = {}  # the classifier's names come first; the sDAE's (same data) are the fallback: drop both
    for kind in ("classifier", "sdae"):
        checkpoint = load_checkpoint(tiny_checkpoints[kind], kind)
        config = {k: v for k, v in checkpoint.config.items() if k != "class_names"}
        unnamed[kind] = str(save_checkpoint(checkpoint.model, config, tmp_path / f"unnamed_{kind}"))
    result = CliRunner().invoke(export_main, ["--classifier", unnamed["classifier"], "--sdae", unnamed["sdae"],
                                              "--steps", "2", str(tmp_path / "plain.onnx")])
    assert result.exit_code == 0, result.output
    prediction = Session(tmp_path / "plain.onnx").predict(images, seed=0)
    assert prediction.class_names is None and prediction.label_names is None
