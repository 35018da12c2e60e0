"""`malade-export` (also `malade export`): one verified file, graph targets, one-line errors."""

import onnx
import pytest
from click.testing import CliRunner

from malade_export.cli.export import main as export_main


def _cli(tiny_checkpoints, *args):
    base = ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae", str(tiny_checkpoints["sdae"])]
    return CliRunner().invoke(export_main, [*base, *args])


def test_cli_writes_one_verified_file(tiny_checkpoints, tmp_path):
    result = _cli(tiny_checkpoints, "--steps", "3", "--noise", "seed", str(tmp_path / "o.onnx"))
    assert result.exit_code == 0, result.output
    assert "max |dlogits|" in result.output and "seed" in result.output and "logits" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["o.onnx"]


@pytest.mark.parametrize("args, target", [
    ([], "onnxruntime"),  # ONNX Runtime's CPU provider gets the rewritten denoiser
    (["--dtype", "fp16"], "tensorrt"),  # a GPU export keeps the graph as trained
    (["--dtype", "fp16", "--target", "onnxruntime"], "onnxruntime"),  # unless asked
    (["--target", "openvino"], "openvino"),
])
def test_cli_picks_the_graph_target_for_the_runtime(tiny_checkpoints, tmp_path, args, target):
    result = _cli(tiny_checkpoints, "--steps", "2", "--no-verify", *args, str(tmp_path / "o.onnx"))
    assert result.exit_code == 0, result.output
    model = onnx.load(str(tmp_path / "o.onnx"))
    assert {p.key: p.value for p in model.metadata_props}["malade.graph_target"] == target
    assert any(n.op_type == "DepthToSpace" for n in model.graph.node) == (target == "onnxruntime")


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "steps must be between 1 and"),
    (["--steps", "5000"], "steps must be between 1 and"),
    (["--votes", "0"], "votes must be between"),
    (["--format", "pdf"], "Invalid value for '--format'"),
    (["--format", "torchscript", "--dtype", "fp16"], "fp16 is supported for --format onnx only"),
    (["--schedule", "alpha0=x"], "schedule alpha0 must be a number"),
    (["--opset", "7"], "opset 7 is unsupported"),
    (["--noise", "seed", "--opset", "17"], "--noise seed needs opset 18"),
    (["--noise", "seed", "--trt-engine", "e.plan"], "--trt-engine needs --noise input"),
])
def test_cli_bad_input_is_one_line_and_leaves_no_file(tiny_checkpoints, tmp_path, args, message):
    result = _cli(tiny_checkpoints, *args, str(tmp_path / "o.onnx"))
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_bad_checkpoints_and_paths(tiny_checkpoints, tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(tiny_checkpoints["classifier"].read_bytes()[:5000])
    cases = [
        (["--classifier", str(corrupt)], "corrupt"),
        (["--classifier", str(tmp_path / "missing.safetensors")], "does not exist"),
        (["--classifier", str(tiny_checkpoints["classifier"]), "--sdae", str(tiny_checkpoints["classifier"])],
         "expected sdae or dae"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(export_main,
                                    ["--sdae", str(tiny_checkpoints["sdae"]), *args, str(tmp_path / "o.onnx")])
        assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1
    result = _cli(tiny_checkpoints, str(tmp_path / "no" / "such" / "o.onnx"))
    assert result.exit_code == 1 and "does not exist" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.safetensors"]


def test_cli_refuses_mismatched_shapes(tiny_checkpoints, tmp_path):
    from malade_export.checkpoint import save_checkpoint
    from malade_export.models import build_model

    config = {"kind": "sdae", "input_shape": [3, 32, 32], "channels": 4, "kernel": 3, "sigma": 0.3}
    other = save_checkpoint(build_model(config), config, tmp_path / "rgb")
    result = CliRunner().invoke(export_main, ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae", str(other),
                                              str(tmp_path / "o.onnx")])
    assert result.exit_code == 1 and "disagree on input shape" in result.output
    assert not (tmp_path / "o.onnx").exists()


def test_malade_export_subcommand_is_malade_export():
    from malade_export.cli.export import main as export_main
    from malade_export.cli.main import main

    assert main.commands["export"] is export_main
    assert "Export the Malade defence" in CliRunner().invoke(main, ["export", "--help"]).output
