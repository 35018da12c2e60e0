"""Triton model repositories: every config.pbtxt parses as Triton's ModelConfig and matches the file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from malade_export import export_defense, load_defense
from malade_export.errors import MaladeError
from malade_export.serving.config import QueuePolicy
from malade_export.serving.triton_repo import RepoOptions, write_repository

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient[grpc] not installed")
text_format = pytest.importorskip("google.protobuf.text_format")

OUTPUTS = ("logits", "purified", "score")
ONNX_TO_TRITON = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.INT64: "TYPE_INT64"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """The default export (bundled weights, noise input) and its seed-mode twin."""
    loaded = load_defense(None, None)
    folder = tmp_path_factory.mktemp("exports")
    out = {}
    for mode in ("input", "seed"):
        out[mode] = folder / f"{mode}.onnx"
        export_defense(loaded, out[mode], noise_mode=mode, verify=False)
    return out


def parse(path: Path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def onnx_tensors(path: Path) -> dict[str, tuple[str, list[int]]]:
    """name -> (Triton dtype, dims with -1 for symbolic), read with onnx (not onnxruntime, as the writer does)."""
    graph = onnx.load(str(path)).graph
    return {t.name: (ONNX_TO_TRITON[t.type.tensor_type.elem_type],
                     [d.dim_value if d.HasField("dim_value") else -1 for d in t.type.tensor_type.shape.dim])
            for t in [*graph.input, *graph.output]}


def check_against_file(config, tensors: dict, names: list[str], kind: str) -> None:
    """The config's tensors named ``names`` carry the file's dtypes and dims (batch dim dropped if batched)."""
    declared = {t.name: t for t in getattr(config, kind)}
    for name in names:
        dtype, dims = tensors[name]
        entry = declared[name]
        assert model_config_pb2.DataType.Name(entry.data_type) == dtype
        if config.max_batch_size > 0:
            assert dims[0] == -1, f"{name}: batching needs a dynamic leading dim"
            want = dims[1:]
            if not want:
                assert list(entry.dims) == [1] and entry.HasField("reshape") and list(entry.reshape.shape) == []
                continue
        else:
            want = dims
        assert list(entry.dims) == want


def test_text_format_is_strict():
    """The validation can fail: unknown fields and bad enums are parse errors."""
    with pytest.raises(text_format.ParseError):
        text_format.Parse('name: "m"\nmax_batch: 4\n', model_config_pb2.ModelConfig())
    with pytest.raises(text_format.ParseError):
        text_format.Parse('name: "m"\ninstance_group [ { kind: KIND_TPU } ]\n', model_config_pb2.ModelConfig())


@pytest.mark.parametrize("mode", ["input", "seed"])
@pytest.mark.parametrize("debug", [False, True])
def test_python_variant(exports, tmp_path, mode, debug):
    policy = QueuePolicy(max_batch_size=16, max_queue_size=40, timeout_us=250_000)
    repo = write_repository(exports[mode], tmp_path / "repo", RepoOptions(policy=policy, expose_seeds=debug))
    assert repo.models == ("malade",) and repo.batched
    config = parse(repo.path / "malade" / "config.pbtxt")
    assert config.backend == "python" and config.max_batch_size == 16
    tensors = onnx_tensors(exports[mode])
    assert [t.name for t in config.input] == ["x"]  # no seed, no noise: nothing for a client to choose
    check_against_file(config, tensors, ["x"], "input")
    assert [t.name for t in config.output] == ["logits", "purified", "score"] + (["seed"] if debug else [])
    check_against_file(config, tensors, ["logits", "purified", "score"], "output")
    queue = config.dynamic_batching.default_queue_policy
    assert queue.max_queue_size == 40 and queue.default_timeout_microseconds == 250_000
    assert model_config_pb2.ModelQueuePolicy.TimeoutAction.Name(queue.timeout_action) == "REJECT"
    assert (repo.path / "malade" / "1" / "model.onnx").read_bytes() == exports[mode].read_bytes()
    assert "TritonPythonModel" in (repo.path / "malade" / "1" / "model.py").read_text()


@pytest.mark.parametrize("mode", ["input", "seed"])
@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_onnxruntime_variant(exports, tmp_path, mode, device):
    repo = write_repository(exports[mode], tmp_path / "repo",
                            RepoOptions(variant="onnxruntime", device=device, instances=2, threads=1))
    tensors = onnx_tensors(exports[mode])
    noise = "noise" if mode == "input" else "seed"
    inner = parse(repo.path / "malade_onnx" / "config.pbtxt")
    assert inner.platform == "onnxruntime_onnx"
    assert (inner.max_batch_size > 0) == (mode == "seed")  # noise [steps, B, ...] is not batch-first
    assert [t.name for t in inner.input] == ["x", noise]
    check_against_file(inner, tensors, ["x", noise], "input")
    assert [t.name for t in inner.output] == ["logits", "purified", "score"]
    check_against_file(inner, tensors, ["logits", "purified", "score"], "output")
    group = inner.instance_group[0]
    assert model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind) == f"KIND_{device.upper()}" and group.count == 2
    assert (list(group.gpus) == [0]) == (device == "gpu")
    assert {p: v.string_value for p, v in inner.parameters.items()} == {"intra_op_thread_count": "1"}
    check_ensemble(repo.path, "malade_onnx", tensors, noise, inner.max_batch_size)


def check_ensemble(root: Path, inner_name: str, tensors: dict, noise: str, max_batch: int) -> None:
    ensemble = parse(root / "malade" / "config.pbtxt")
    assert ensemble.platform == "ensemble" and ensemble.max_batch_size == max_batch
    assert [t.name for t in ensemble.input] == ["x"]  # the client sends x only
    check_against_file(ensemble, tensors, ["logits", "purified", "score"], "output")
    front = parse(root / "malade_noise" / "config.pbtxt")
    assert front.backend == "python" and [t.name for t in front.input] == ["x"]
    assert [t.name for t in front.output][0] == noise
    check_against_file(front, tensors, [noise], "output")
    steps = ensemble.ensemble_scheduling.step
    assert [s.model_name for s in steps] == ["malade_noise", inner_name]
    assert dict(steps[1].input_map) == {"x": "x", noise: dict(steps[0].output_map)[noise]}
    for model in ("malade_noise", inner_name):
        assert (root / model / "1").is_dir()


def test_tensorrt_variant(exports, tmp_path):
    plan = tmp_path / "defense.plan"
    plan.write_bytes(b"not a real plan: TensorRT is absent here; the config is what is checked")
    repo = write_repository(exports["input"], tmp_path / "repo",
                            RepoOptions(variant="tensorrt", device="gpu", plan=plan, expose_seeds=True))
    inner = parse(repo.path / "malade_trt" / "config.pbtxt")
    assert inner.platform == "tensorrt_plan" and inner.max_batch_size == 0
    tensors = onnx_tensors(exports["input"])
    assert [t.name for t in inner.input] == ["x", "noise"] and [t.name for t in inner.output] == list(OUTPUTS)
    check_against_file(inner, tensors, ["x", "noise"], "input")
    check_against_file(inner, tensors, list(OUTPUTS), "output")
    assert (repo.path / "malade_trt" / "1" / "model.plan").read_bytes() == plan.read_bytes()
    ensemble = parse(repo.path / "malade" / "config.pbtxt")
    assert [t.name for t in ensemble.output] == ["logits", "purified", "score", "seed"]
    assert dict(ensemble.ensemble_scheduling.step[0].output_map) == {"noise": "noise", "seed_used": "seed"}


def test_front_noise_matches_the_file(exports):
    """The noise front model's shape parameters size noise exactly as the file's input wants it."""
    from malade_export.noise import seeded_noise
    from malade_export.runtime import Session

    session = Session(exports["input"])
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    noise = seeded_noise(np.array([5, 6]), session.steps, session.input_shape, session.votes)
    logits = session.run({"x": x, "noise": noise})["logits"]
    np.testing.assert_allclose(logits, session.predict(x, seed=[5, 6]).logits)


@pytest.mark.parametrize("options, message", [
    (RepoOptions(variant="tensorrt", device="gpu"), "needs the plan"),
    (RepoOptions(variant="tensorrt", device="cpu", plan=Path(__file__)), "GPU instances only"),
    (RepoOptions(variant="triton"), "unknown variant"),
    (RepoOptions(name="bad name"), "letters, digits"),
])
def test_bad_options_are_refused(exports, tmp_path, options, message):
    with pytest.raises(MaladeError, match=message):
        write_repository(exports["input"], tmp_path / "repo", options)
    assert not (tmp_path / "repo").exists() and not list(tmp_path.iterdir())


def test_existing_folder_and_foreign_file_are_refused(exports, tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(MaladeError, match="already exists"):
        write_repository(exports["input"], tmp_path / "taken")
    foreign = tmp_path / "foreign.onnx"
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["a"], ["b"])], "g",
                                   [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)]), str(foreign))
    with pytest.raises(MaladeError, match="not a malade-export graph"):
        write_repository(foreign, tmp_path / "repo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.onnx", "taken"]  # no half-written repository


def test_python_variant_on_gpu_instances_asks_for_gpu_providers(exports, tmp_path):
    repo = write_repository(exports["input"], tmp_path / "repo", RepoOptions(device="gpu", instances=2))
    config = parse(repo.path / "malade" / "config.pbtxt")
    group = config.instance_group[0]
    assert model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind) == "KIND_GPU" and group.count == 2
    assert config.parameters["providers"].string_value == "auto"


def test_cli_writes_every_variant_for_the_default_preset(tmp_path):
    """`malade triton-repo PRESET` exports the default defence and writes a repository that validates."""
    from click.testing import CliRunner

    from malade_export.cli.main import main

    runner = CliRunner()
    result = runner.invoke(main, ["triton-repo", "fashion-mnist", str(tmp_path / "ort"), "--variant", "onnxruntime",
                                  "--noise", "seed", "--max-batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert "clients call `malade` with input x only" in result.output
    configs = {p.parent.name: parse(p) for p in (tmp_path / "ort").glob("*/config.pbtxt")}
    assert sorted(configs) == ["malade", "malade_noise", "malade_onnx"]
    assert all(c.max_batch_size == 8 for c in configs.values())  # seed mode: every model batches
    onnx_files = list((tmp_path / "ort").glob("malade_onnx/1/model.onnx"))
    assert [i.name for i in onnx.load(str(onnx_files[0])).graph.input] == ["x", "seed"]
    missing = runner.invoke(main, ["triton-repo", str(tmp_path / "nope.onnx"), str(tmp_path / "r")])
    assert missing.exit_code == 1 and "Error: model file" in missing.output and "does not exist" in missing.output


def test_serving_side_runs_without_torch(exports, tmp_path):
    """A torch-free host writes repositories and has both commands: torch is blocked from importing."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from malade_export.cli.serve import serve_cmd, triton_repo_cmd\n"
            "from malade_export.serving import write_repository\n"
            f"write_repository({str(exports['seed'])!r}, {str(tmp_path / 'repo')!r})\n"
            "triton_repo_cmd.main(['--help'], standalone_mode=False)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "repo" / "malade" / "config.pbtxt").is_file()


def test_serve_and_server_lookup_errors_are_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from malade_export.cli.main import main
    from malade_export.serving.server import find_tritonserver

    with pytest.raises(MaladeError, match="no tritonserver at"):
        find_tritonserver(tmp_path / "missing")
    monkeypatch.setenv("PATH", str(tmp_path))  # no tritonserver on PATH either
    monkeypatch.delenv("MALADE_TRITONSERVER", raising=False)
    if not Path("/opt/tritonserver/bin/tritonserver").is_file():
        with pytest.raises(MaladeError, match="install_tritonserver.sh"):
            find_tritonserver()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "holds no model" in result.output


def test_repository_is_readable_by_other_users(exports, tmp_path):
    old = os.umask(0o022)
    try:
        repo = write_repository(exports["input"], tmp_path / "repo")
    finally:
        os.umask(old)
    assert repo.path.stat().st_mode & 0o777 == 0o755
