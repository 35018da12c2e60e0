"""`malade eval` end to end on synthetic IDX data: result files, runtimes, one-line errors."""
from __future__ import annotations

import json
import shutil
import subprocess

from click.testing import CliRunner

from malade_export.cli.eval import eval_cmd
from malade_export.provenance import REPO_ROOT


def run(command, args: list[str]) -> str:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


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
