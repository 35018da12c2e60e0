"""Bundled presets: the cifar10 preset exports from a fresh process, --preset reaches every command that
falls back on bundled weights, and whichever preset supplied a file is recorded."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from malade_export.chain import DEFAULT_PRESET, PRESETS, preset
from malade_export.checkpoint import check_config
from malade_export.cli.bench import bench_cmd
from malade_export.cli.eval import eval_cmd
from malade_export.cli.export import main as export_main
from malade_export.errors import MaladeError
from malade_export.eval.pipeline import bundled_defaults
from malade_export.schedule import default_schedule

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
EXPORT = "from malade_export.cli.export import main; main()"


def _metadata(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_every_preset_ships_its_files_and_the_default_stays_fashion_mnist():
    assert DEFAULT_PRESET == "fashion-mnist" and PRESETS.names()[0] == DEFAULT_PRESET
    assert "cifar10" in PRESETS
    for name in PRESETS:
        bundled = preset(name)
        assert bundled.classifier.is_file() and bundled.sdae.is_file() and bundled.description
        assert bundled.classifier.parent.name == "weights" and bundled.sdae.suffix == ".safetensors"


@pytest.mark.slow
@pytest.mark.parametrize("noise_mode, noise", [("input", "noise"), ("seed", "seed")])
def test_cifar10_preset_exports_in_a_fresh_process_and_runs_in_onnx_runtime(tmp_path, noise_mode, noise):
    import onnxruntime as ort

    out = tmp_path / "cifar10.onnx"
    done = subprocess.run([sys.executable, "-c", EXPORT, "--preset", "cifar10", "--steps", "2", "--noise", noise_mode,
                           str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "preset=cifar10" in done.stdout and "verified with" in done.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["cifar10.onnx"]
    meta = _metadata(out)
    assert json.loads(meta["malade.class_names"]) == CIFAR10_CLASSES
    assert meta["malade.preset"] == "cifar10" and json.loads(meta["malade.input_shape"]) == [3, 32, 32]
    sdae = check_config(preset("cifar10").sdae)  # the sDAE's own schedule, or the default at its sigma
    assert json.loads(meta["malade.schedule"]) == default_schedule(float(sdae["sigma"]), sdae).to_dict()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    assert list(inputs) == ["x", noise] and inputs["x"].shape[1:] == [3, 32, 32]
    rng = np.random.default_rng(0)
    feed = {"x": rng.random((2, 3, 32, 32), dtype=np.float32)}
    feed[noise] = (rng.standard_normal((2, 2, 3, 32, 32), dtype=np.float32) if noise == "noise"
                   else np.array([1, 2], dtype=np.int64))
    logits, purified, score = session.run(["logits", "purified", "score"], feed)
    assert logits.shape == (2, 10) and purified.shape == (2, 3, 32, 32) and score.shape == (2,)
    assert all(np.isfinite(a).all() for a in (logits, purified, score))


def test_explicit_checkpoints_override_the_preset_and_the_metadata_says_so(tiny_checkpoints, tmp_path):
    mixed = tmp_path / "mixed.onnx"  # the sDAE from the preset, the classifier given: both recorded
    result = CliRunner().invoke(export_main, ["--preset", "fashion-mnist", "--classifier", str(preset().classifier),
                                              "--steps", "1", "--no-verify", str(mixed)])
    assert result.exit_code == 0, result.output
    assert _metadata(mixed)["malade.preset"] == "fashion-mnist"
    own = tmp_path / "own.onnx"  # both given: the preset supplied nothing
    given = ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae", str(tiny_checkpoints["sdae"])]
    result = CliRunner().invoke(export_main, ["--preset", "cifar10", *given, "--steps", "1", "--no-verify", str(own)])
    assert result.exit_code == 0, result.output
    meta = _metadata(own)
    assert meta["malade.preset"] == "null" and json.loads(meta["malade.input_shape"]) != [3, 32, 32]


@pytest.mark.parametrize("command, args", [(export_main, ["o.onnx"]), (eval_cmd, []), (bench_cmd, [])])
def test_unknown_preset_is_one_line_and_help_lists_every_preset(command, args, tmp_path):
    result = CliRunner().invoke(command, ["--preset", "imagenet", *args])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "imagenet" in lines[0] and "cifar10" in lines[0], result.output
    text = " ".join(CliRunner().invoke(command, ["--help"]).output.split())
    for name in PRESETS:
        assert name in text and " ".join(preset(name).description.split()) in text


def test_eval_takes_the_presets_files_where_none_are_given_and_records_which():
    cifar = preset("cifar10")
    assert bundled_defaults("cifar10", "malade", None, None) == (str(cifar.classifier), str(cifar.sdae), "cifar10")
    assert bundled_defaults(None, "malade", None, "mine.safetensors") == (
        str(preset().classifier), "mine.safetensors", DEFAULT_PRESET)
    assert bundled_defaults("cifar10", "malade", "c.onnx", "s.safetensors") == ("c.onnx", "s.safetensors", None)
    assert bundled_defaults(None, "mala", "c.onnx", None)[1] == str(preset().dae)
    assert bundled_defaults("cifar10", "none", "c.onnx", None) == ("c.onnx", None, None)
    with pytest.raises(MaladeError, match="bundles no DAE"):
        bundled_defaults("cifar10", "magnet", None, None)


def test_eval_result_records_the_preset(setup, tmp_path):
    out = tmp_path / "r.json"
    common = ["--dataset", setup["dataset"], "--steps", 1, "--attack", "none", "--n", 4, "--holdout", 0]
    result = CliRunner().invoke(eval_cmd, [str(a) for a in [*common, "--out", out]])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["preset"] == DEFAULT_PRESET
    own = tmp_path / "own.json"
    result = CliRunner().invoke(eval_cmd, [str(a) for a in [*common, "--classifier", setup["classifier"],
                                                             "--sdae", setup["sdae"], "--out", own]])
    assert result.exit_code == 0, result.output
    assert json.loads(own.read_text())["preset"] is None


def test_bench_times_a_preset_and_the_presets_table_judges_each_row_by_its_peak(tmp_path):
    from malade_export.bench import BenchConfig, run_benchmark
    from malade_export.bench.presets_table import preset_rows, presets_markdown

    config = BenchConfig(steps=(1,), batches=(1,), backends=("pytorch-eager",), warmup=0, reps=1, budget_s=1.0,
                         rounds=1, threads=1, dgan_devices=(), peak_size=64, preset="cifar10")
    report = run_benchmark(config, tmp_path / "work")
    assert report["preset"] == "cifar10" and report["input_shape"] == [3, 32, 32]
    assert "cifar10_sdae.safetensors (preset cifar10)" in report["weights"]
    (row,) = preset_rows({"cifar10": report})
    assert row["preset"] == "cifar10" and row["batch"] == 1 and row["steps"] == 1
    assert row["percent_of_peak"] == pytest.approx(100 * row["gflops"] / report["matmul_peak"]["gflops"])
    table = presets_markdown({"cifar10": report})
    assert "| cifar10 | 1 | 1 | pytorch-eager |" in table and "input 3x32x32" in table


def test_bench_refuses_defense_gan_for_a_classifier_its_generator_cannot_serve(tmp_path):
    result = CliRunner().invoke(bench_cmd, ["--preset", "cifar10", "--quick", "--out-dir", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--dgan-devices none" in lines[0], result.output
