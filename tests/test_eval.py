"""Evaluation: Wilson intervals, the runner, result files with provenance, and the CLI end to end
(on an IDX folder of synthetic images and tiny checkpoints written by the test)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from malade_export.attacks import FGSM
from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.cli.eval import eval_cmd
from malade_export.cli.train_gan import train_gan_cmd
from malade_export.data import ImageSet, write_idx
from malade_export.defenses import NoDefense
from malade_export.eval import AttackOptions, build_attack, evaluate, wilson_interval
from malade_export.models import build_model
from malade_export.provenance import REPO_ROOT
from malade_export.train import TrainSettings, train_classifier

SHAPE = [1, 28, 28]


def synthetic(n: int, seed: int) -> ImageSet:
    """Ten noisy binary templates, quantised to 8 bits so they survive an IDX round trip."""
    templates = (np.random.default_rng(123).random((10, 1, 28, 28)) < 0.2).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.clip(0.3 + 0.3 * templates[labels] + 0.25 * rng.standard_normal((n, 1, 28, 28)), 0, 1)
    return ImageSet((np.round(images * 255) / 255).astype(np.float32), labels.astype(np.int64))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
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


def run(command, args: list[str]) -> str:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("correct, n, low, high", [(50, 100, 0.4038, 0.5962), (0, 10, 0.0, 0.2775),
                                                   (10, 10, 0.7225, 1.0)])
def test_wilson_interval_matches_known_values(correct, n, low, high):
    assert wilson_interval(correct, n) == pytest.approx((low, high), abs=1e-4)


def test_evaluate_counts_clean_and_attacked_correct(setup):
    model, test = setup["model"], setup["test"]
    x, y = torch.from_numpy(test.images[:60]), torch.from_numpy(test.labels[:60])
    defense = NoDefense(model)
    clean, attacked = evaluate(defense, FGSM(defense, 0.1), x, y, batch_size=25, progress=False)
    with torch.no_grad():
        assert clean.correct == int((model(x).argmax(1) == y).sum())
    assert clean.n == attacked.n == 60
    assert attacked.correct < clean.correct - 15
    assert build_attack("none", defense, AttackOptions()) is None


def test_eval_cli_writes_json_and_markdown_with_command_seed_and_commit(setup, tmp_path):
    out = tmp_path / "results" / "malade_fgsm.json"
    args = ["--dataset", setup["dataset"], "--classifier", setup["classifier"], "--defense", "malade",
            "--sdae", setup["sdae"], "--steps", 2, "--attack", "fgsm", "--eps", 0.3, "--n", 40, "--holdout", 20,
            "--seed", 3, "--out", out]
    run(eval_cmd, args)
    record = json.loads(out.read_text())
    assert record["seed"] == 3 and "--seed 3" in record["command"] and "--attack fgsm" in record["command"]
    git = shutil.which("git")
    head = subprocess.run([git, "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True) if git else None
    assert record["commit"] == (head.stdout.strip() if head and head.returncode == 0 else None)
    assert record["clean"]["n"] == 40 and record["attack"] == {"attack": "fgsm", "eps": 0.3, "bpda": False}
    low, high = record["attacked"]["ci95"]
    assert low <= record["attacked"]["accuracy"] <= high
    row = out.with_suffix(".md").read_text().splitlines()[-1]
    assert record["command"] in row and (record["commit"] or "unknown")[:12] in row and "| 3 |" in row
    refused = CliRunner().invoke(eval_cmd, [str(a) for a in args])  # an existing result is kept by default
    assert refused.exit_code == 1 and "--force" in refused.output and json.loads(out.read_text()) == record
    run(eval_cmd, [*args, "--force"])  # same seed, same numbers
    assert json.loads(out.read_text())["attacked"] == record["attacked"]


def test_eval_defaults_to_the_bundled_models(setup, tmp_path):
    from malade_export.chain import preset

    out = tmp_path / "r.json"
    run(eval_cmd, ["--dataset", setup["dataset"], "--steps", 1, "--attack", "none", "--n", 4, "--holdout", 0,
                   "--out", out])
    record = json.loads(out.read_text())
    assert record["classifier"]["path"] == str(preset().classifier)
    assert record["denoiser"]["path"] == str(preset().sdae)


def test_eval_cli_blackbox_end_to_end(setup, tmp_path):
    out = tmp_path / "bb.json"
    run(eval_cmd, ["--dataset", setup["dataset"], "--classifier", setup["classifier"], "--defense", "none",
                   "--attack", "blackbox", "--holdout", 20, "--sub-rounds", 2, "--sub-epochs", 2, "--n", 30,
                   "--out", out])
    record = json.loads(out.read_text())
    assert record["attack"]["substitute_training_size"] == 40 and record["attacked"]["n"] == 30


def test_eval_cli_reports_user_errors_in_one_line(setup):
    result = CliRunner().invoke(eval_cmd, ["--dataset", setup["dataset"], "--classifier", str(setup["classifier"]),
                                           "--defense", "none", "--n", "5000"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "exceeds" in result.output


def test_eval_cli_runtime_ort_gives_the_torch_numbers_and_records_the_runtime(setup, tmp_path):
    args = ["--dataset", setup["dataset"], "--classifier", setup["classifier"], "--defense", "malade",
            "--sdae", setup["sdae"], "--steps", 2, "--attack", "fgsm", "--n", 30, "--holdout", 20, "--seed", 1]
    records = {}
    for runtime in ("torch", "ort"):
        run(eval_cmd, args + ["--runtime", runtime, "--out", tmp_path / f"{runtime}.json"])
        records[runtime] = json.loads((tmp_path / f"{runtime}.json").read_text())
    assert records["ort"]["defense"]["runtime"] == "ort" and "--runtime ort" in records["ort"]["command"]
    assert records["ort"]["clean"] == records["torch"]["clean"]
    assert records["ort"]["attacked"] == records["torch"]["attacked"]  # same noise, torch's gradient


def test_eval_cli_refuses_a_runtime_for_a_defence_without_a_chain(setup):
    result = CliRunner().invoke(eval_cmd, ["--dataset", setup["dataset"], "--classifier", str(setup["classifier"]),
                                           "--defense", "none", "--runtime", "ort", "--n", "5"])
    assert result.exit_code == 1 and "has none" in result.output


def test_paired_comparison_of_a_runtime_with_itself_and_by_hand(setup):
    from malade_export.defenses import RuntimeChain, build_defense
    from malade_export.eval import compare_paired
    from malade_export.eval.paired import paired_result

    chain = build_defense("malade", setup["classifier"], setup["sdae"], steps=2)
    images, labels = torch.from_numpy(setup["test"].images[:20]), torch.from_numpy(setup["test"].labels[:20])
    attack = FGSM(chain, 0.3)
    results = compare_paired(chain, RuntimeChain(chain, "ort"), attack, images, labels, seed=0, batch_size=8,
                               progress=False)
    for part in ("clean", "attacked"):
        assert results[part].agreement == 1.0 and results[part].difference == 0.0
        assert results[part].reference == results[part].candidate
    by_hand = paired_result(torch.tensor([True, True, False, False]), torch.tensor([True, False, False, True]),
                            torch.tensor([True, False, True, False]))
    assert by_hand.difference == 0.0 and by_hand.agreement == 0.5
    assert by_hand.difference_ci95[0] < 0 < by_hand.difference_ci95[1]


def test_compare_runtimes_script_writes_its_record(setup, tmp_path):
    out = tmp_path / "paired.json"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "compare_runtimes.py"), "--dataset", setup["dataset"],
                    "--classifier", str(setup["classifier"]), "--sdae", str(setup["sdae"]), "--steps", "2",
                    "--candidate", "ort", "--attack", "fgsm", "--n", "16", "--holdout", "4", "--out", str(out)],
                   check=True, capture_output=True, text=True)
    record = json.loads(out.read_text())
    assert record["candidate"] == "ort" and record["seed"] == 0 and "--candidate ort" in record["command"]
    assert record["results"]["attacked"]["agreement"] == 1.0
    assert "same label" in out.with_suffix(".md").read_text()


def test_compare_runtimes_script_pairs_two_sdaes(setup, tmp_path):
    other_config = {"kind": "sdae", "input_shape": SHAPE, "channels": 4, "kernel": 3, "sigma": 0.3}
    torch.manual_seed(1)
    other = save_checkpoint(build_model(other_config), other_config, tmp_path / "other_sdae")
    out = tmp_path / "paired.json"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "compare_runtimes.py"), "--dataset", setup["dataset"],
                    "--classifier", str(setup["classifier"]), "--sdae", str(setup["sdae"]), "--steps", "2",
                    "--candidate", "torch", "--candidate-sdae", str(other), "--attack", "none", "--n", "40",
                    "--holdout", "4", "--out", str(out)], check=True, capture_output=True, text=True)
    record = json.loads(out.read_text())
    assert record["reference"] == "torch (sdae.safetensors)" and record["candidate"] == "torch (other_sdae.safetensors)"
    assert record["candidate_sdae"] == str(other)
    assert record["results"]["clean"]["agreement"] < 1.0  # two different denoisers: some labels differ


def test_train_gan_cli_saves_a_generator_checkpoint(setup, tmp_path):
    run(train_gan_cmd, ["--dataset", setup["dataset"], "--val-size", 10, "--iterations", 2, "--critic-steps", 1,
                        "--batch-size", 8, "--out", tmp_path / "gen"])
    ckpt = load_checkpoint(tmp_path / "gen.safetensors", "generator")
    assert ckpt.config["training"]["iterations"] == 2
    assert ckpt.model(torch.randn(3, 128)).shape == (3, 1, 28, 28)
    grid = plt.imread(tmp_path / "gen.samples.png")  # 8 x 8 samples, so a look at quality is one file away
    assert grid.shape[:2] == (8 * 28, 8 * 28) and grid.std() > 0


def test_rerun_row_reproduces_a_row_and_refuses_changed_checkpoints(setup, tmp_path):
    from malade_export.errors import MaladeError
    from malade_export.eval.rerun import rerun_row

    classifier = tmp_path / "clf.safetensors"
    shutil.copy(setup["classifier"], classifier)
    out = tmp_path / "row.json"
    run(eval_cmd, ["--dataset", setup["dataset"], "--classifier", classifier, "--defense", "none",
                   "--attack", "fgsm", "--eps", 0.2, "--n", 40, "--holdout", 20, "--seed", 5, "--out", out])
    committed = json.loads(out.read_text())
    new, checks = rerun_row(out)
    assert [c.part for c in checks] == ["clean", "attacked"] and all(c.inside for c in checks)
    assert new["attacked"] == committed["attacked"] and json.loads(out.read_text()) == committed  # not overwritten
    record = json.loads(out.read_text())
    record["attacked"]["ci95"] = [0.999, 1.0]  # a committed interval the rerun cannot meet
    out.write_text(json.dumps(record))
    assert not rerun_row(out)[1][1].inside
    classifier.write_bytes(classifier.read_bytes() + b" ")
    with pytest.raises(MaladeError, match="changed since the row was made"):
        rerun_row(out)
