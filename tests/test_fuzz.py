"""Fuzzing with Hypothesis: whatever comes in, a finite result or a one-line MaladeError / ValueError.

Random arrays, dtypes, shapes and seeds into ``predict``; random and mutated bytes into the
checkpoint and ONNX loaders; random option values into ``malade-export``. Never another
exception, never a non-finite output, never a file left by a refused command, and the process's
peak memory grows by less than 200 MB over each fuzz run.
"""
from __future__ import annotations

import json
import resource
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from malade_export.chain import load_defense
from malade_export.checkpoint import load_checkpoint
from malade_export.cli.export import main as export_main
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.runtime import Session


def fuzz(examples: int) -> settings:
    """Fixed examples (derandomize) so the suite's time is stable; no deadline (ORT's first call compiles)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                    database=None)
MEMORY_BOUND_MB = 200


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _one_line(exc: BaseException) -> bool:
    return "\n" not in str(exc).strip() and bool(str(exc).strip())


@pytest.fixture(scope="module")
def served(tiny_checkpoints, tmp_path_factory) -> Path:
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=2)
    return export_defense(loaded, tmp_path_factory.mktemp("fz") / "m.onnx", verify=False).path


@pytest.fixture(scope="module")
def session(served) -> Session:
    return Session(served, max_batch=64)


@pytest.fixture(autouse=True)
def memory_bound():
    before = _peak_mb()
    yield
    assert _peak_mb() - before < MEMORY_BOUND_MB, f"peak memory grew by {_peak_mb() - before:.0f} MB"


DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.uint8, np.bool_, np.complex64])
SHAPES = st.one_of(st.just((2, 1, 28, 28)), hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=30),
                   st.tuples(st.integers(0, 70), st.just(1), st.just(28), st.just(28)))
ARRAYS = st.builds(lambda dtype, shape: (dtype, shape), DTYPES, SHAPES).flatmap(
    lambda ds: hnp.arrays(ds[0], ds[1], elements=None if ds[0] != np.float32 else
                          st.floats(-2, 3, width=32) | st.sampled_from([np.nan, np.inf, -np.inf])))
SEEDS = st.one_of(st.none(), st.integers(-2**65, 2**65), st.floats(allow_nan=True), st.booleans(), st.text(max_size=4),
                  st.lists(st.integers(-5, 2**64), max_size=4),
                  hnp.arrays(st.sampled_from([np.int64, np.uint64, np.int8, np.float64, np.bool_]),
                             hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)))


@fuzz(120)
@given(x=ARRAYS, seed=SEEDS, wrap=st.sampled_from(["array", "list", "fortran"]))
def test_predict_gives_finite_outputs_or_one_line_errors(session, x, seed, wrap):
    value = x.tolist() if wrap == "list" else (np.asfortranarray(x) if wrap == "fortran" else x)
    try:
        out = session.predict(value, seed=seed)
    except (ValueError, MaladeError) as exc:
        assert _one_line(exc), repr(exc)
        return
    assert np.isfinite(out.logits).all() and np.isfinite(out.purified).all() and np.isfinite(out.score).all()
    assert out.labels.shape == (x.shape[0],) and out.seeds.dtype == np.int64
    if seed is not None:  # accepted seeds are integers, used exactly as given: nothing converted silently
        given_seeds = np.asarray(seed)
        assert given_seeds.dtype.kind in "iu" and not isinstance(seed, bool), repr(seed)
        assert np.array_equal(out.seeds, np.broadcast_to(given_seeds, out.seeds.shape)), repr(seed)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        buffer[position % len(buffer)] = value
    return bytes(buffer[:cut] if cut is not None else buffer)


EDITS = st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), max_size=8)
HEADER_EDITS = st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), max_size=4)  # the header and config


@fuzz(120)
@given(data=st.one_of(st.binary(max_size=2048), st.tuples(EDITS, st.none() | st.integers(0, 5000)),
                      st.tuples(HEADER_EDITS, st.none())))
def test_checkpoint_loader_on_random_and_mutated_bytes(tiny_checkpoints, tmp_path_factory, data):
    original = Path(tiny_checkpoints["sdae"]).read_bytes()
    blob = data if isinstance(data, bytes) else _mutate(original, *data)
    path = tmp_path_factory.mktemp("ck") / "f.safetensors"
    path.write_bytes(blob)
    try:
        checkpoint = load_checkpoint(path)
    except MaladeError as exc:
        assert _one_line(exc), repr(exc)
        return
    assert all(bool(np.isfinite(p.detach().numpy()).all()) for p in checkpoint.model.parameters())


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
                           lambda inner: st.lists(inner, max_size=4), max_leaves=6)


@fuzz(100)
@given(changes=st.dictionaries(st.sampled_from(["kind", "channels", "kernel", "input_shape", "sigma", "num_classes",
                                                "arch", "latent_dim"]), JSON_VALUES, max_size=3))
def test_checkpoint_loader_on_random_config_values(tiny_checkpoints, tmp_path_factory, changes):
    from hostile_files import tamper_checkpoint

    base = tiny_checkpoints["classifier" if changes.get("kind") == "classifier" else "sdae"]
    path = tamper_checkpoint(base, tmp_path_factory.mktemp("cfg") / "f.safetensors",
                             json.loads(json.dumps(changes, allow_nan=True)))
    try:
        load_checkpoint(path)
    except MaladeError as exc:
        assert _one_line(exc), repr(exc)


@fuzz(50)
@given(data=st.one_of(st.binary(max_size=1024), st.tuples(EDITS, st.none() | st.integers(0, 200_000))))
def test_onnx_loader_on_random_and_mutated_bytes(served, tmp_path_factory, data):
    blob = data if isinstance(data, bytes) else _mutate(served.read_bytes(), *data)
    path = tmp_path_factory.mktemp("ox") / "f.onnx"
    path.write_bytes(blob)
    try:
        out = Session(path).predict(np.full((2, 1, 28, 28), 0.5, np.float32), seed=1)
    except (MaladeError, ValueError) as exc:
        assert _one_line(exc), repr(exc)
        return
    assert np.isfinite(out.logits).all()


OPTION_VALUES = {
    # valid values stay small (a 1000-step export is legal but takes minutes); the rest lie outside the range
    "--steps": st.one_of(st.integers(-5, 4), st.integers(1001, 10**20).map(str), st.text(max_size=3)),
    "--votes": st.one_of(st.integers(-2, 3), st.just("1e3"), st.integers(65, 10**9)),
    "--opset": st.one_of(st.integers(10, 25), st.text(max_size=3)),
    "--schedule": st.one_of(st.text(max_size=12), st.builds(
        lambda k, v: f"{k}={v}", st.sampled_from(["alpha0", "alpha_min", "delta0", "delta_min", "decay", "gamma"]),
        st.one_of(st.floats(), st.integers(-10, 10**12), st.text(max_size=5)))),
    "--noise": st.sampled_from(["input", "seed", "chaos"]),
    "--dtype": st.sampled_from(["fp32", "fp16", "int4"]),
    "--format": st.sampled_from(["onnx", "torchscript", "tflite"]),
    "--target": st.sampled_from(["onnxruntime", "openvino", "cuda"]),
}


@fuzz(30)
@given(options=st.dictionaries(st.sampled_from(sorted(OPTION_VALUES)), st.just(None), min_size=1, max_size=3)
       .flatmap(lambda keys: st.fixed_dictionaries({k: OPTION_VALUES[k] for k in keys})),
       name=st.sampled_from(["o.onnx", "o.pt", "sub/o.onnx", "", "."]))
def test_export_cli_on_random_option_values(tiny_checkpoints, tmp_path_factory, options, name):
    folder = tmp_path_factory.mktemp("cli")
    args = ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae", str(tiny_checkpoints["sdae"]), "--no-verify"]
    for key, value in options.items():
        args += [key, str(value)]
    result = CliRunner().invoke(export_main, [*args, str(folder / name) if name else ""])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 0:
        assert len(list(folder.rglob("*"))) == 1
    else:
        assert result.output.strip().count("\n") == 0 and result.output.startswith("Error:"), result.output
        assert list(folder.rglob("*")) == []
