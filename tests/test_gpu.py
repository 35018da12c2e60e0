"""GPU paths: ORT CUDA and TensorRT. They skip cleanly on machines without a GPU / TensorRT."""
import importlib.util

import numpy as np
import onnxruntime as ort
import pytest
import torch

from malade_export.chain import load_defense
from malade_export.export import export_defense

HAS_CUDA = torch.cuda.is_available()
HAS_ORT_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
HAS_TRT = HAS_CUDA and importlib.util.find_spec("tensorrt") is not None


@pytest.fixture(scope="module")
def exported(tiny_checkpoints, tmp_path_factory):
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    folder = tmp_path_factory.mktemp("gpu")
    paths = {dtype: export_defense(loaded, folder / f"{dtype}.onnx", dtype=dtype, verify=False, target="tensorrt").path
             for dtype in ("fp32", "fp16")}  # the graph as trained: what GPU exports get by default
    return loaded, paths


def _feeds(loaded, batch):
    rng = np.random.default_rng(0)
    return {"x": rng.random((batch, 1, 28, 28), dtype=np.float32),
            "noise": rng.standard_normal(loaded.defense.noise_shape(batch), dtype=np.float32)}


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_ORT_CUDA, reason="onnxruntime CUDA execution provider not available")
def test_ort_cuda_matches_cpu(exported):
    loaded, paths = exported
    feeds = _feeds(loaded, 8)
    cpu = ort.InferenceSession(str(paths["fp32"]), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    gpu = ort.InferenceSession(str(paths["fp32"]), providers=["CUDAExecutionProvider"]).run(None, feeds)[0]
    assert np.abs(cpu - gpu).max() <= 1e-3


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TRT, reason="TensorRT and a CUDA GPU are needed")
@pytest.mark.parametrize("dtype, tolerance", [("fp32", 1e-3), ("fp16", 5e-2)])
def test_tensorrt_engine_matches_onnxruntime(exported, tmp_path, dtype, tolerance):
    from malade_export.runtime.trt import TrtRunner, build_engine

    loaded, paths = exported
    plan = build_engine(paths[dtype], tmp_path / "m.plan", min_batch=1, opt_batch=4, max_batch=16)
    runner = TrtRunner(plan)
    for batch in (1, 16):
        feeds = _feeds(loaded, batch)
        want = ort.InferenceSession(str(paths["fp32"])).run(None, feeds)
        got = runner.run(feeds)
        assert got["logits"].shape == (batch, 10)
        assert np.abs(got["logits"] - want[0]).max() <= tolerance


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TRT, reason="TensorRT and a CUDA GPU are needed")
def test_tensorrt_session_predicts_like_the_onnx_runtime_session(exported, tmp_path):
    from malade_export.runtime import OrtSession, TensorRTSession
    from malade_export.runtime.trt import build_engine

    _, paths = exported
    plan = build_engine(paths["fp32"], tmp_path / "p.plan", min_batch=1, opt_batch=4, max_batch=16)
    trt_session, ort_session = TensorRTSession(plan, onnx_path=paths["fp32"]), OrtSession(paths["fp32"])
    assert trt_session.steps == ort_session.steps and trt_session.input_shape == ort_session.input_shape
    images = np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32)
    got, want = trt_session.predict(images, seed=7), ort_session.predict(images, seed=7)  # the same noise
    assert np.abs(got.logits - want.logits).max() <= 1e-3 and (got.labels == want.labels).all()
