"""The production Session: input validation, seeding, threads, and no torch dependency."""
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from malade_export.chain import load_defense
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.runtime import Session


@pytest.fixture(scope="module", params=["input", "seed", "openvino"])
def session(request, tiny_checkpoints, tmp_path_factory):
    """ORT with either noise mode, and OpenVINO (noise input only), behind the same predict()."""
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    noise_mode = "seed" if request.param == "seed" else "input"
    path = tmp_path_factory.mktemp("rt") / f"{request.param}.onnx"
    export_defense(loaded, path, noise_mode=noise_mode, verify=False)
    if request.param == "openvino":
        pytest.importorskip("openvino")
        from malade_export.runtime import OpenVINOSession

        return OpenVINOSession(path, precision="f32")
    return Session(path)


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def test_predict_returns_everything(session):
    out = session.predict(_images(5), seed=1)
    assert out.logits.shape == (5, 10) and out.labels.shape == (5,) and out.purified.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(out.probabilities.sum(1), 1, rtol=1e-5)
    assert (out.score > 0).all() and (out.seeds == 1).all()


def test_same_seed_reproduces_and_default_seed_is_fresh(session):
    x = _images(3)
    a, b = session.predict(x, seed=[5, 6, 7]), session.predict(x, seed=[5, 6, 7])
    np.testing.assert_array_equal(a.purified, b.purified)
    c, d = session.predict(x), session.predict(x)
    assert not np.array_equal(c.seeds, d.seeds)
    assert not np.array_equal(c.purified, d.purified)


@pytest.mark.parametrize("bad, message", [
    (lambda: [[0.0]], "numpy array"),
    (lambda: _images(2).astype(np.float64), "float32"),
    (lambda: _images(2)[:, :, :20], "shape"),
    (lambda: np.zeros((0, 1, 28, 28), np.float32), "at least one"),
    (lambda: np.full((1, 1, 28, 28), np.nan, np.float32), "NaN"),
    (lambda: _images(1) * 255, r"\[0, 1\]"),
])
def test_bad_input_is_a_clear_value_error(session, bad, message):
    with pytest.raises(ValueError, match=message):
        session.predict(bad())


def test_clip_option_accepts_out_of_range(tiny_checkpoints, session):
    session.clip_input = True
    try:
        out = session.predict(_images(2) * 1.5 - 0.2, seed=0)
        assert out.logits.shape == (2, 10)
    finally:
        session.clip_input = False


def test_threads_give_the_same_answers_as_sequential_calls(session):
    batches = [(_images(4, seed=i), i) for i in range(8)]
    sequential = [session.predict(x, seed=s).logits for x, s in batches]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda b: session.predict(b[0], seed=b[1]).logits, batches))
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_non_malade_or_missing_files_are_refused(tmp_path):
    with pytest.raises(MaladeError, match="does not exist"):
        Session(tmp_path / "nope.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(MaladeError, match="cannot load"):
        Session(tmp_path / "junk.onnx")


def test_runtime_imports_without_torch():
    code = "import sys, malade_export.runtime, malade_export.noise; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
