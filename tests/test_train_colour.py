"""Colour-image training: the recipe options, batch augmentation, airbench-small and its user-held files."""
import itertools
import json

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.cli.main import main
from malade_export.errors import MaladeError
from malade_export.export.user_forms import save_user_forms
from malade_export.models import build_model
from malade_export.train.augment import random_crop, random_flip
from malade_export.train.recipe import Recipe, lr_factor, make_optimizer

SMALL = {"kind": "classifier", "arch": "airbench-small", "input_shape": [3, 32, 32], "num_classes": 10}


def test_default_recipe_is_the_papers_adam_at_a_constant_rate():
    model = torch.nn.Linear(2, 2)
    assert type(make_optimizer(model, Recipe(), 1e-3)) is torch.optim.Adam
    assert {lr_factor(Recipe(), step, 100) for step in range(100)} == {1.0}


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_schedules_warm_up_to_the_peak_then_fall_to_zero(schedule):
    recipe = Recipe(optimizer="sgd-nesterov", schedule=schedule, warmup=0.2)
    factors = [lr_factor(recipe, step, 100) for step in range(101)]
    assert factors[0] == pytest.approx(0.1)
    assert max(factors) == pytest.approx(1.0) and int(np.argmax(factors)) == 20
    assert factors[100] == pytest.approx(0.0, abs=1e-9)
    assert all(a >= b for a, b in itertools.pairwise(factors[20:]))


def test_sgd_decays_only_conv_and_linear_weights():
    model = build_model(SMALL)
    groups = make_optimizer(model, Recipe(optimizer="sgd-nesterov", weight_decay=5e-4), 0.1).param_groups
    assert all(p.ndim > 1 for p in groups[0]["params"]) and groups[0]["weight_decay"] == 5e-4
    assert all(p.ndim == 1 for p in groups[1]["params"]) and groups[1]["weight_decay"] == 0.0
    assert groups[0]["nesterov"]


def test_random_crop_shifts_each_image_by_at_most_pad():
    images = torch.arange(64 * 3 * 8 * 8, dtype=torch.float32).view(64, 3, 8, 8)
    out = random_crop(images, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="reflect")
    offsets = set()
    for i in range(64):
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if torch.equal(out[i], padded[i, :, dy:dy + 8, dx:dx + 8])]
        assert len(found) == 1
        offsets.add(found[0])
    assert len(offsets) > 10  # not one shift for the whole batch


def test_random_flip_mirrors_some_images_and_keeps_the_rest():
    images = torch.rand(64, 3, 4, 4)
    out = random_flip(images, torch.Generator().manual_seed(0))
    flipped = [torch.equal(out[i], images[i].flip(2)) for i in range(64)]
    kept = [torch.equal(out[i], images[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54


def test_airbench_small_takes_pixels_and_normalises_inside():
    model = build_model(SMALL).eval()
    pixels = torch.rand(4, 3, 32, 32)
    mean, std = model.normalize.mean, model.normalize.std
    with torch.no_grad():
        assert model(pixels).shape == (4, 10)
        assert torch.allclose(model(pixels), model.body((pixels - mean) / std))


def test_user_forms_expect_normalised_input_and_match_the_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = build_model(SMALL)
    with torch.no_grad():
        for module in model.modules():  # non-trivial BN statistics, so a dropped normalisation would show
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        model.body[-1].weight.mul_(100.0)  # logits that differ by more than the tolerance between inputs
    path = save_checkpoint(model, SMALL, tmp_path / "clf")
    info = save_user_forms(path, tmp_path, "clf", class_names=[f"c{i}" for i in range(10)])
    onnx_model = onnx.load(str(info["onnx"]))
    meta = {p.key: p.value for p in onnx_model.metadata_props}
    assert json.loads(meta["mean"]) == info["mean"] and json.loads(meta["class_names"])[3] == "c3"

    import onnxruntime as ort

    pixels = torch.rand(5, 3, 32, 32) * torch.linspace(0.1, 1.0, 5).view(5, 1, 1, 1)  # unlike inputs
    normalised = (pixels - torch.tensor(info["mean"]).view(1, 3, 1, 1)) / torch.tensor(info["std"]).view(1, 3, 1, 1)
    want = load_checkpoint(path, "classifier").model(pixels).numpy()
    session = ort.InferenceSession(str(info["onnx"]), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": normalised.numpy()})[0]
    assert np.ptp(want, axis=0).max() > 0.05  # far above the tolerance below
    np.testing.assert_allclose(got, want, atol=1e-4)
    with torch.no_grad():
        np.testing.assert_allclose(torch.jit.load(str(info["torchscript"]))(normalised).numpy(), want, atol=1e-4)
        assert np.abs(torch.jit.load(str(info["torchscript"]))(pixels).numpy() - want).max() > 0.1


def test_user_forms_refuse_a_classifier_without_separate_normalisation(tmp_path):
    config = {"kind": "classifier", "arch": "A", "input_shape": [1, 28, 28], "num_classes": 10}
    path = save_checkpoint(build_model(config), config, tmp_path / "a")
    with pytest.raises(MaladeError, match="normalize/body"):
        save_user_forms(path, tmp_path, "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors"]


def _colour_npz(path, n=600, seed=0):
    """Three classes told apart by which colour channel is brightest, on noise: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0, 0.6, (n, 3, 8, 8))
    images[np.arange(n), labels] += 0.4
    np.savez(path, x=(images * 255).astype(np.uint8), y=labels)


def test_train_classifier_with_the_colour_recipe_learns_and_records_it(tmp_path):
    data = tmp_path / "colour.npz"
    _colour_npz(data)
    out = tmp_path / "clf"
    args = ["train-classifier", "--arch", "airbench-small", "--dataset", f"npz:{data}", "--val-size", "60",
            "--optimizer", "sgd-nesterov", "--lr", "0.05", "--weight-decay", "5e-4", "--schedule", "onecycle",
            "--label-smoothing", "0.1", "--augment", "crop-flip", "--channels-last", "--keep-best",
            "--batch-size", "32", "--epochs", "3", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(tmp_path / "clf.safetensors", "classifier")
    training = ckpt.config["training"]
    assert training["recipe"]["optimizer"] == "sgd-nesterov" and training["recipe"]["schedule"] == "onecycle"
    assert training["augment"] == "crop-flip" and len(training["history"]) == 3
    assert "partial_epochs" not in ckpt.config  # the finished run replaced the --keep-best file
    assert ckpt.config["test_metrics"]["test_accuracy"] > 0.9
