"""`malade train-classifier | train-dae | train-sdae | distill-sdae | train-gan` end to end
on the shipped slice (train-gan on synthetic data)."""
import matplotlib.pyplot as plt
import torch
from click.testing import CliRunner

from malade_export.checkpoint import load_checkpoint
from malade_export.cli.main import main
from malade_export.cli.train_gan import train_gan_cmd
from malade_export.train import accuracy


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


def test_sdae_init_warm_starts_from_a_dae_and_keeps_its_architecture(tmp_path, tiny_checkpoints, slice_dir):
    out = tmp_path / "warm"
    result = CliRunner().invoke(main, [
        "train-sdae", "--classifier", str(tiny_checkpoints["classifier"]), "--init", str(tiny_checkpoints["dae"]),
        "--epochs", "1", "--limit", "64", "--data-dir", str(slice_dir), "--val-size", "300", "--out", str(out),
        "--force"])  # 64 images are not meant to pass the usefulness check; the warm start is what is tested
    assert result.exit_code == 0, result.output
    warm = load_checkpoint(tmp_path / "warm.safetensors", "sdae")
    start = load_checkpoint(tiny_checkpoints["dae"], "dae")
    assert (warm.config["channels"], warm.config["kernel"]) == (8, 3)  # taken from --init, not the defaults
    assert warm.config["init_from"]["sha256"] == start.sha256
    # One epoch on 64 images moves the weights a little, not back to a random init.
    for name, value in start.model.state_dict().items():
        drift = (warm.model.state_dict()[name] - value).abs().max().item()
        assert drift < 0.1, name


def test_sdae_init_with_another_architecture_is_one_line_and_writes_nothing(tmp_path, tiny_checkpoints, slice_dir):
    result = CliRunner().invoke(main, [
        "train-sdae", "--classifier", str(tiny_checkpoints["classifier"]), "--init", str(tiny_checkpoints["dae"]),
        "--channels", "16", "--epochs", "1", "--limit", "64", "--data-dir", str(slice_dir), "--out",
        str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "another architecture" in result.output
    assert list(tmp_path.iterdir()) == []


def test_distil_sdae_shrinks_the_gap_to_its_teacher_and_records_it(tmp_path, tiny_checkpoints, slice_dir, slice_data):
    out = tmp_path / "student"
    result = CliRunner().invoke(main, [
        "distill-sdae", "--teacher", str(tiny_checkpoints["sdae"]), "--classifier", str(tiny_checkpoints["classifier"]),
        "--channels", "4", "--kernel", "3", "--kl-weight", "1", "--epochs", "2", "--limit", "512",
        "--data-dir", str(slice_dir),
        "--val-size", "300", "--out", str(out), "--force"])  # a 4-channel student on 512 images may fail the check
    assert result.exit_code == 0, result.output
    student = load_checkpoint(tmp_path / "student.safetensors", "sdae")
    teacher = load_checkpoint(tiny_checkpoints["sdae"], "sdae")
    assert (student.config["channels"], student.config["kernel"]) == (4, 3)
    assert student.config["sigma"] == teacher.config["sigma"]  # so the chain's step schedule carries over
    assert student.config["distilled_from"]["sha256"] == teacher.sha256 and student.config["kl_weight"] == 1.0
    gaps = [epoch["val_gap_to_teacher"] for epoch in student.config["training"]["history"]]
    assert gaps[1] < gaps[0]


def run(command, args: list[str]) -> str:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_train_gan_cli_saves_a_generator_checkpoint(setup, tmp_path):
    run(train_gan_cmd, ["--dataset", setup["dataset"], "--val-size", 10, "--iterations", 2, "--critic-steps", 1,
                        "--batch-size", 8, "--out", tmp_path / "gen"])
    ckpt = load_checkpoint(tmp_path / "gen.safetensors", "generator")
    assert ckpt.config["training"]["iterations"] == 2
    assert ckpt.model(torch.randn(3, 128)).shape == (3, 1, 28, 28)
    grid = plt.imread(tmp_path / "gen.samples.png")  # 8 x 8 samples, so a look at quality is one file away
    assert grid.shape[:2] == (8 * 28, 8 * 28) and grid.std() > 0
