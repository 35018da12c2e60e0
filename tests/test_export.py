"""The fused graph: parity with PyTorch in every runtime, metadata, and refusal of bad input."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from malade_export.chain import load_defense
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.export.graphs import build_graph
from malade_export.export.onnx_export import FORBIDDEN_OPS
from malade_export.export.torchscript_export import METADATA_FILE
from malade_export.noise import seeded_noise
from malade_export.noise.gaussian import NOISE_GENERATOR
from malade_export.noise.onnx_ops import attach_seeded_noise
from malade_export.runtime import read_metadata

STEPS = 4


@pytest.fixture(scope="module")
def loaded(tiny_checkpoints):
    return load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=STEPS)


@pytest.fixture(scope="module")
def exported(loaded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return {mode: export_defense(loaded, folder / f"{mode}.onnx", noise_mode=mode, verify=False).path
            for mode in ("input", "seed")}


def _eager(loaded, mode, x, extra):
    with torch.no_grad():
        return [o.numpy() for o in build_graph(loaded.defense, mode)(torch.from_numpy(x), torch.from_numpy(extra))]


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_noise_input_graph_matches_pytorch(loaded, exported, batch):
    rng = np.random.default_rng(batch)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    noise = rng.standard_normal(loaded.defense.noise_shape(batch), dtype=np.float32)
    got = ort.InferenceSession(str(exported["input"])).run(None, {"x": x, "noise": noise})
    want = _eager(loaded, "input", x, noise)
    assert [g.shape for g in got] == [(batch, 10), (batch, 1, 28, 28), (batch,)]
    assert np.abs(got[0] - want[0]).max() <= 1e-4
    assert np.abs(got[2] - want[2]).max() <= 1e-4


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_seed_graph_matches_pytorch_and_is_reproducible(loaded, exported, batch):
    x = np.random.default_rng(batch).random((batch, 1, 28, 28), dtype=np.float32)
    seeds = np.arange(batch, dtype=np.int64) * 1_000_003 + 11
    session = ort.InferenceSession(str(exported["seed"]))
    first = session.run(None, {"x": x, "seed": seeds})
    second = session.run(None, {"x": x, "seed": seeds})
    np.testing.assert_array_equal(first[0], second[0])
    assert np.abs(first[0] - _eager(loaded, "seed", x, seeds)[0]).max() <= 1e-4
    # The host twin's noise fed to the eager chain gives the same end point as the seeded graph.
    host = _eager(loaded, "input", x, seeded_noise(seeds, STEPS, (1, 28, 28)))
    assert np.abs(first[1] - host[1]).max() <= 1e-5


def test_seeded_noise_is_bit_identical_in_onnxruntime():
    # A graph that only passes its noise through: with the generator attached, it outputs the noise.
    noise = onnx.helper.make_tensor_value_info("noise", onnx.TensorProto.FLOAT, [STEPS, "chains", 1, 28, 28])
    out = onnx.helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [STEPS, "chains", 1, 28, 28])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["noise"], ["out"])], "probe", [noise], [out])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    attach_seeded_noise(model, STEPS, (1, 28, 28), votes=2)
    onnx.checker.check_model(model, full_check=True)
    seeds = np.array([3, 2**62 - 5, -7, 0, -(2**63), 2**63 - 1], dtype=np.int64)
    got = ort.InferenceSession(model.SerializeToString()).run(None, {"seed": seeds})[0]
    want = seeded_noise(seeds, STEPS, (1, 28, 28), votes=2)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_seed_mode_refuses_opsets_without_bitwise_ops(loaded, tmp_path):
    with pytest.raises(MaladeError, match="opset 18"):
        export_defense(loaded, tmp_path / "m.onnx", noise_mode="seed", opset=17)
    assert not list(tmp_path.iterdir())


def test_seeded_sample_is_the_same_at_batch_1_and_64(exported):
    session = ort.InferenceSession(str(exported["seed"]))
    x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
    seeds = np.arange(64, dtype=np.int64) + 99
    full = session.run(None, {"x": x, "seed": seeds})[1]
    single = session.run(None, {"x": x[40:41], "seed": seeds[40:41]})[1]
    assert np.abs(full[40] - single[0]).max() <= 1e-6


def test_onnx_file_is_single_checked_and_random_free(exported, loaded):
    model = onnx.load(str(exported["seed"]))
    onnx.checker.check_model(model, full_check=True)
    assert not {n.op_type for n in model.graph.node} & FORBIDDEN_OPS
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert list(exported["seed"].parent.iterdir()) and not list(exported["seed"].parent.glob("*.data"))
    meta = read_metadata({p.key: p.value for p in model.metadata_props})
    assert meta["steps"] == STEPS and meta["noise_mode"] == "seed" and meta["sigma"] == 0.3
    assert meta["noise_generator"] == NOISE_GENERATOR
    assert meta["classifier"]["sha256"] == loaded.classifier.sha256
    assert len(meta["alphas"]) == STEPS and meta["dataset"] == "fashion-mnist"
    assert {"torch", "onnx", "malade_export"} <= set(meta["versions"])


def test_torchscript_round_trip(loaded, tmp_path):
    result = export_defense(loaded, tmp_path / "m.pt", fmt="torchscript", noise_mode="seed")
    assert result.report.max_abs_logits == 0.0
    files = {METADATA_FILE: ""}
    module = torch.jit.load(str(tmp_path / "m.pt"), _extra_files=files)
    assert json.loads(files[METADATA_FILE])["malade.noise_mode"] == "seed"
    logits, purified, score = module(torch.rand(5, 1, 28, 28), torch.arange(5))
    assert logits.shape == (5, 10) and purified.shape == (5, 1, 28, 28) and score.shape == (5,)


def test_votes_export_runs(loaded, tiny_checkpoints, tmp_path):
    voting = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=2, votes=3)
    result = export_defense(voting, tmp_path / "v.onnx")
    assert result.report.max_abs_logits <= 1e-4
    session = ort.InferenceSession(str(tmp_path / "v.onnx"))
    assert session.get_inputs()[1].shape[1] == "chains"


def test_written_file_gets_the_usual_permissions(loaded, tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        path = export_defense(loaded, tmp_path / "p.onnx", verify=False).path
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
