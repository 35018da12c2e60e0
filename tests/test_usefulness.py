"""Training never ends silently useless: the digits collapse, the held-out check, --force, export's refusal."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.cli.export import main as export_main
from malade_export.cli.main import main
from malade_export.data import ImageSet, default_val_size, train_val_split, write_idx
from malade_export.models.dae import DenoisingAutoencoder
from malade_export.train import Denoiser, TrainSettings, train_dae
from malade_export.train.usefulness import MAX_MSE_RATIO, check_usefulness, pixel_variance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
pytest.importorskip("sklearn")
from make_digits import digits_mnist_layout  # noqa: E402


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def digits() -> tuple[ImageSet, ImageSet]:
    x, y, _, _ = digits_mnist_layout()
    full = ImageSet(x[:, None].astype(np.float32) / 255.0, y.astype(np.int64))
    return train_val_split(full, default_val_size(len(full), None))


@pytest.fixture(scope="module")
def digits_idx(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("digits")
    x_train, y_train, x_test, y_test = digits_mnist_layout()
    for prefix, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y)
    return folder


@pytest.mark.slow
def test_default_width_dae_no_longer_collapses_on_sparse_digits(digits, monkeypatch):
    """64 channels, Adam 1e-3: the old start saturates the Sigmoid at black within ~10 steps; the new one learns.

    Batches of 32 keep it short: the collapse depends on the number of Adam steps, not the batch size.
    """
    torch.set_num_threads(1)
    train, val = digits
    val = val.subset(slice(0, 64))
    settings = TrainSettings(epochs=1, batch_size=32, seed=0)
    fixed = train_dae(train.subset(slice(0, 32 * 30)), val, settings, denoiser=Denoiser(64, 5), log=quiet)
    verdict = fixed.config["usefulness"]
    assert verdict["passed"] and verdict["recon_mse"] < MAX_MSE_RATIO * verdict["pixel_variance"]
    monkeypatch.setattr(DenoisingAutoencoder, "start_at_mean", lambda self, mean: None)  # the old recipe
    old = train_dae(train.subset(slice(0, 32 * 15)), val, settings, denoiser=Denoiser(64, 5), log=quiet)
    assert not old.config["usefulness"]["passed"]
    assert old.config["usefulness"]["recon_mse"] > verdict["pixel_variance"]  # worse than the mean image: all black


def test_check_measures_against_the_mean_image():
    rng = np.random.default_rng(0)
    images = rng.random((64, 1, 6, 6)).astype(np.float32)
    data = ImageSet(images, np.zeros(64, np.int64))

    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.from_numpy(images.mean(0)).expand_as(x)

    verdict = check_usefulness(Constant(), data)
    assert verdict.recon_mse == pytest.approx(pixel_variance(images), rel=1e-5) and not verdict.passed
    assert check_usefulness(torch.nn.Identity(), data).passed


def test_broken_run_exits_non_zero_in_one_line_and_writes_nothing(tmp_path, digits_idx):
    out = tmp_path / "broken"
    result = CliRunner().invoke(main, ["train-dae", "--dataset", f"idx:{digits_idx}", "--lr", "10", "--epochs", "1",
                                       "--channels", "8", "--kernel", "3", "--limit", "256", "--out", str(out)])
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "usefulness check" in error[0] and "pixel variance" in error[0]
    assert list(tmp_path.iterdir()) == []


def test_forced_checkpoint_is_marked_and_export_refuses_it(tmp_path, digits_idx, tiny_checkpoints):
    out = tmp_path / "forced"
    result = CliRunner().invoke(main, ["train-dae", "--dataset", f"idx:{digits_idx}", "--lr", "10", "--epochs", "1",
                                       "--channels", "8", "--kernel", "3", "--limit", "256", "--out", str(out),
                                       "--force"])
    assert result.exit_code == 0, result.output
    assert "FAILED (kept because of --force)" in result.output
    forced = load_checkpoint(tmp_path / "forced.safetensors", "dae")
    assert forced.config["usefulness"]["passed"] is False
    # Export refuses it in one line, naming the file, and writes nothing (sDAE shape differs: use a 28x28 twin).
    sdae = load_checkpoint(tiny_checkpoints["sdae"], "sdae")
    twin = save_checkpoint(sdae.model, {**sdae.config, "usefulness": forced.config["usefulness"]}, tmp_path / "bad")
    result = CliRunner().invoke(export_main, ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae",
                                              str(twin), str(tmp_path / "o.onnx")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "bad.safetensors failed its usefulness check" in result.output
    assert not (tmp_path / "o.onnx").exists()


def test_trained_checkpoints_record_a_passed_check(tiny_checkpoints):
    for kind in ("sdae", "dae"):
        verdict = load_checkpoint(tiny_checkpoints[kind], kind).config["usefulness"]
        assert verdict["passed"] is True and verdict["recon_mse"] < MAX_MSE_RATIO * verdict["pixel_variance"]
    sdae = json.dumps(load_checkpoint(tiny_checkpoints["sdae"], "sdae").config["usefulness"])
    assert "recon_accuracy" in sdae and "clean_accuracy" in sdae
