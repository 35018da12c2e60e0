"""OpenVINOSession: the same answers as ONNX Runtime in float32, bfloat16 only where asked.

Validation, seeding and thread safety run for it in test_runtime.py, beside the ORT Session."""
import numpy as np
import pytest

from malade_export.chain import load_defense
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.runtime import Session

pytest.importorskip("openvino")
from malade_export.runtime import OpenVINOSession  # noqa: E402


@pytest.fixture(scope="module")
def files(tiny_checkpoints, tmp_path_factory):
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    folder = tmp_path_factory.mktemp("ov")
    paths = {mode: folder / f"{mode}.onnx" for mode in ("input", "seed")}
    for mode, path in paths.items():
        export_defense(loaded, path, noise_mode=mode, verify=False)
    return paths


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def test_float32_matches_onnx_runtime_and_reads_the_metadata(files):
    session = OpenVINOSession(files["input"], precision="f32", threads=1)
    assert session.precision == "f32" and session.steps == 3 and session.votes == 1
    x = _images(5)
    ours, ort = session.predict(x, seed=[1, 2, 3, 4, 5]), Session(files["input"]).predict(x, seed=[1, 2, 3, 4, 5])
    for a, b in [(ours.logits, ort.logits), (ours.purified, ort.purified), (ours.score, ort.score)]:
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_auto_precision_is_bf16_only_on_native_bf16_cpus_and_stays_close(files):
    from malade_export.runtime.openvino import native_bf16

    session = OpenVINOSession(files["input"], precision="auto", threads=1)
    assert session.precision == ("bf16" if native_bf16() else "f32")  # never emulated bf16
    x = _images(4)
    ours, ort = session.predict(x, seed=7), Session(files["input"]).predict(x, seed=7)
    np.testing.assert_allclose(ours.purified, ort.purified, atol=0.05)  # bf16 keeps 8 bits of mantissa


def test_seed_mode_files_bad_precisions_and_missing_files_are_refused(files, tmp_path):
    with pytest.raises(MaladeError, match="seed-mode"):
        OpenVINOSession(files["seed"])
    with pytest.raises(MaladeError, match="unknown precision"):
        OpenVINOSession(files["input"], precision="fp8")
    with pytest.raises(MaladeError, match="does not exist"):
        OpenVINOSession(tmp_path / "nope.onnx")
    with pytest.raises(ValueError, match="float32"):
        OpenVINOSession(files["input"]).predict(_images(1).astype(np.float64))


def test_each_batch_size_gets_a_static_model_up_to_a_limit(files, monkeypatch):
    from malade_export.runtime import openvino as ov_runtime

    monkeypatch.setattr(ov_runtime, "STATIC_BATCH_SIZES", 2)
    session = OpenVINOSession(files["input"], precision="f32", threads=1)
    reference = Session(files["input"])
    for batch in (1, 3, 3, 2, 1):  # 2 is past the limit: the dynamic model answers it
        x = _images(batch, seed=batch)
        np.testing.assert_allclose(session.predict(x, seed=5).logits, reference.predict(x, seed=5).logits, atol=1e-4)
    assert sorted(session._static) == [1, 3]
    assert not session._static[1].inputs[0].get_partial_shape().is_dynamic
