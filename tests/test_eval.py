"""Evaluation: Wilson intervals, the runner, result files with provenance, and the CLI end to end
(on an IDX folder of synthetic images and tiny checkpoints written by the test)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from malade_export.attacks import FGSM
from malade_export.checkpoint import save_checkpoint
from malade_export.cli.eval import eval_cmd
from malade_export.defenses import NoDefense
from malade_export.eval import AttackOptions, build_attack, evaluate, wilson_interval
from malade_export.models import build_model
from malade_export.provenance import REPO_ROOT

SHAPE = [1, 28, 28]


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
    on_gpu = json.loads(out.read_text())  # a row made on a lent GPU names --device cuda; it reruns here
    on_gpu["command"] = on_gpu["command"].replace("--device cpu", "--device cuda")
    gpu_row = tmp_path / "gpu_row.json"
    gpu_row.write_text(json.dumps(on_gpu))
    moved, _ = rerun_row(gpu_row, device="cpu")
    assert moved["device"] == "cpu" and moved["attacked"] == committed["attacked"]
    record = json.loads(out.read_text())
    record["attacked"]["ci95"] = [0.999, 1.0]  # a committed interval the rerun cannot meet
    out.write_text(json.dumps(record))
    assert not rerun_row(out)[1][1].inside
    classifier.write_bytes(classifier.read_bytes() + b" ")
    with pytest.raises(MaladeError, match="changed since the row was made"):
        rerun_row(out)
    classifier.unlink()  # a row made elsewhere names a checkpoint this machine lacks
    with pytest.raises(MaladeError, match="missing or changed"):
        rerun_row(out)
