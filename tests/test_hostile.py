"""Hostile files and bad input: every refusal is one line naming the file and field; nothing is left half-written."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from hostile_files import first_weight_nan, tamper_checkpoint, tamper_onnx, write_checkpoint

from malade_export.atomic import atomic_path, write_text_atomic
from malade_export.chain import load_defense
from malade_export.chain.presets import WEIGHTS_DIR
from malade_export.checkpoint import load_checkpoint
from malade_export.cli.export import main as export_main
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.runtime import Session
from malade_export.runtime.guard import SEED_MAX, check_seeds
from malade_export.runtime.openvino import resolve_precision
from malade_export.schedule import Schedule

ROOT = Path(__file__).parent.parent


def _one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message


@pytest.fixture(scope="module")
def exported(tiny_checkpoints, tmp_path_factory) -> Path:
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    return export_defense(loaded, tmp_path_factory.mktemp("hx") / "m.onnx", verify=False).path


# --- checkpoints: schema before allocation, non-finite weights ----------------------------------------------

SCHEMA_CASES = {
    "channels 1e9": ({"channels": 10**9}, "channels"),
    "channels -1": ({"channels": -1}, "channels"),
    "channels float": ({"channels": 8.0}, "channels"),
    "kernel 1e5": ({"kernel": 10**5}, "kernel"),
    "kernel even": ({"kernel": 4}, "kernel"),
    "input_shape huge": ({"input_shape": [1, 10**5, 10**5]}, "input_shape[1]"),
    "input_shape 2-D": ({"input_shape": [28, 28]}, "input_shape"),
    "input_shape bool": ({"input_shape": [True, 28, 28]}, "input_shape[0]"),
    "sigma NaN": ({"sigma": float("nan")}, "sigma"),
    "sigma Inf": ({"sigma": float("inf")}, "sigma"),
    "sigma 0": ({"sigma": 0.0}, "sigma"),
    "sigma string": ({"sigma": "0.3"}, "sigma"),
    "kind unknown": ({"kind": "trojan"}, "kind"),
}


@pytest.mark.parametrize("case", SCHEMA_CASES)
def test_sdae_config_out_of_schema_is_refused_naming_file_and_field(case, tiny_checkpoints, tmp_path):
    changes, field = SCHEMA_CASES[case]
    bad = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "bad.safetensors", changes)
    with pytest.raises(MaladeError) as info:
        load_checkpoint(bad, ("sdae", "dae"))
    assert str(bad) in str(info.value) and field in str(info.value) and _one_line(str(info.value))


def test_classifier_config_out_of_schema_is_refused(tiny_checkpoints, tmp_path):
    for changes, field in [({"num_classes": 10**9}, "num_classes"), ({"input_shape": [1, 3000, 3000]}, "input_shape"),
                           ({"arch": "Z"}, "arch")]:
        bad = tamper_checkpoint(tiny_checkpoints["classifier"], tmp_path / "bad.safetensors", changes)
        with pytest.raises(MaladeError, match=field):
            load_checkpoint(bad, "classifier")


def test_classifier_relabelled_as_sdae_names_the_missing_field(tiny_checkpoints, tmp_path):
    bad = tamper_checkpoint(tiny_checkpoints["classifier"], tmp_path / "c.safetensors", {"kind": "sdae"})
    with pytest.raises(MaladeError, match="config field '(sigma|channels)' is missing"):
        load_checkpoint(bad, ("sdae", "dae"))


def test_tensor_table_must_match_the_config(tiny_checkpoints, tmp_path):
    bad = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "b.safetensors", {"channels": 16})
    with pytest.raises(MaladeError, match="tensor .* in the file; its config needs"):
        load_checkpoint(bad)
    extra = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "e.safetensors",
                              tensors=lambda s: s.__setitem__("payload", np.zeros(4, np.float32)))
    with pytest.raises(MaladeError, match="unexpected tensor 'payload'"):
        load_checkpoint(extra)


def test_non_finite_weight_is_refused_at_load(tiny_checkpoints, tmp_path):
    bad = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "nan.safetensors", tensors=first_weight_nan)
    with pytest.raises(MaladeError, match="NaN or infinite"):
        load_checkpoint(bad)


def test_config_that_is_not_an_object_is_refused(tmp_path):
    path = write_checkpoint(tmp_path / "list.safetensors", [1, 2], {"w": np.zeros(2, np.float32)})
    with pytest.raises(MaladeError, match="JSON object"):
        load_checkpoint(path)


# --- export: non-finite output fails verification, nothing written; MagNet exports -------------------------

def test_export_of_nan_weights_fails_and_writes_nothing(tiny_checkpoints, tmp_path):
    config_nan = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "s.safetensors", {"sigma": float("nan")})
    weight_nan = tamper_checkpoint(tiny_checkpoints["sdae"], tmp_path / "w.safetensors", tensors=first_weight_nan)
    out = tmp_path / "out"
    out.mkdir()
    for bad in (config_nan, weight_nan):
        result = CliRunner().invoke(export_main, ["--classifier", str(tiny_checkpoints["classifier"]), "--sdae",
                                                  str(bad), "--steps", "2", str(out / "o.onnx")])
        assert result.exit_code == 1 and _one_line(result.output) and str(bad) in result.output
    assert list(out.iterdir()) == []


def test_verification_refuses_non_finite_outputs(tiny_checkpoints, tmp_path):
    import torch

    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=2)
    with torch.no_grad():
        next(loaded.defense.classifier.parameters()).fill_(float("nan"))
    with pytest.raises(MaladeError, match="non-finite logits"):
        export_defense(loaded, tmp_path / "n.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("noise_mode", ["input", "seed"])
def test_magnet_exports_verifies_and_serves(noise_mode, tmp_path):
    out = tmp_path / "magnet.onnx"
    dae = str(WEIGHTS_DIR / "dae.safetensors")
    result = CliRunner().invoke(export_main, ["--sdae", dae, "--magnet", "--noise", noise_mode, str(out)])
    assert result.exit_code == 0, result.output
    assert "verified with onnxruntime" in result.output
    prediction = Session(out).predict(np.full((2, 1, 28, 28), 0.5, np.float32), seed=3)
    assert np.isfinite(prediction.logits).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["magnet.onnx"]


# --- ONNX files: metadata against graph, outputs checked ------------------------------------------------------

@pytest.mark.parametrize("edit, field", [
    ({"metadata": {"malade.steps": "1000000"}}, "malade.steps"),
    ({"metadata": {"malade.steps": "5"}}, "disagrees with the noise input"),
    ({"metadata": {"malade.steps": "\"3\""}}, "malade.steps"),
    ({"metadata": {"malade.votes": "1000000"}}, "malade.votes"),
    ({"noise_dims": ["steps", "chains", 1, 28, 28]}, "'noise' dimension 0"),
    ({"noise_dims": [3, "chains", 1, 28, 27]}, "'noise' dimension 4|Incompatible dimensions"),  # ORT may refuse first
    ({"x_dtype": onnx.TensorProto.DOUBLE}, "'x' must be float32|bound to different types"),
])
def test_onnx_metadata_is_checked_against_the_graph(edit, field, exported, tmp_path):
    bad = tamper_onnx(exported, tmp_path / "bad.onnx", **edit)
    with pytest.raises(MaladeError) as info:
        Session(bad)
    assert re.search(field, str(info.value)) and str(bad) in str(info.value) and _one_line(str(info.value))


def test_contract_checks_names_and_dtypes_itself():
    from malade_export.runtime.guard import TensorSpec, check_contract

    outputs = [TensorSpec("logits", "float32", (None, 10)), TensorSpec("purified", "float32", (None, 1, 28, 28)),
               TensorSpec("score", "float32", (None,))]
    x = TensorSpec("x", "float32", (None, 1, 28, 28))
    meta = {"steps": 3, "votes": 1}
    seed = TensorSpec("seed", "int64", (None,))
    good = check_contract(Path("f.onnx"), [x, TensorSpec("seed", "int64", (None,))], outputs, meta)
    assert good.noise_mode == "seed" and good.input_shape == (1, 28, 28)
    for inputs, outs, field in [([x, TensorSpec("seed", "float32", (None,))], outputs, "'seed' must be int64"),
                                ([x, TensorSpec("payload", "int64", (None,))], outputs, "inputs"),
                                ([x, TensorSpec("seed", "int64", (None,))], outputs[:2], "outputs"),
                                ([TensorSpec("x", "float32", (None, 1, 9999, 28)), seed], outputs, "'x' dimension 2"),
                                ([x, seed], [TensorSpec("logits", "float16", (None, 10)), *outputs[1:]],
                                 "'logits' must be float32")]:
        with pytest.raises(MaladeError, match=field):
            check_contract(Path("f.onnx"), inputs, outs, meta)


def test_non_finite_outputs_raise_instead_of_a_class(exported, tmp_path):
    bad = tamper_onnx(exported, tmp_path / "nan.onnx", nan_weights=True)
    with pytest.raises(MaladeError, match="non-finite"):
        Session(bad).predict(np.full((1, 1, 28, 28), 0.5, np.float32), seed=0)


def test_batch_limit_is_configurable_and_refuses_before_running(exported):
    x = np.zeros((9, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="max_batch=8"):
        Session(exported, max_batch=8).predict(x)
    assert Session(exported).max_batch == 1024
    with pytest.raises(ValueError, match="max_batch"):
        Session(exported, max_batch=0)


# --- seeds ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1.7, "12", True, np.True_, -1, 2**63, 2**64 + 5, None.__class__, [1, 2],
                                  np.zeros((3, 1), np.int64), np.array([1.0, 2.0, 3.0]), np.array([-1, 0, 1]),
                                  np.array([2**64 - 1, 0, 0], np.uint64), [1, 2.0, 3]])
def test_bad_seeds_are_one_line_value_errors(seed):
    with pytest.raises(ValueError) as info:
        check_seeds(seed, 3)
    assert _one_line(str(info.value))


def test_good_seeds_pass_through():
    assert check_seeds(5, 2).tolist() == [5, 5]
    assert check_seeds(np.int32(7), 1).tolist() == [7]
    assert check_seeds([0, SEED_MAX], 2).tolist() == [0, SEED_MAX]
    assert check_seeds(np.array([3, 4], np.uint64), 2).dtype == np.int64


# --- atomic writes ------------------------------------------------------------------------------------------------

def test_atomic_path_leaves_nothing_on_error_and_keeps_an_existing_target(tmp_path):
    target = tmp_path / "t.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_atomic_fallback_without_o_tmpfile_cleans_up(tmp_path, monkeypatch):
    import malade_export.atomic as atomic

    monkeypatch.setattr(atomic, "_open_unnamed", lambda folder: None)
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "f") as tmp:
            Path(tmp).write_text("x")
            raise RuntimeError
    write_text_atomic(tmp_path / "g", "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]


def _kill_export_at(delay: float, sig: int, folder: Path, ckpts: dict[str, Path]) -> int | None:
    folder.mkdir()
    command = [sys.executable, "-c", "from malade_export.cli.export import main; main()", "--classifier",
               str(ckpts["classifier"]), "--sdae", str(ckpts["sdae"]), "--steps", "3", str(folder / "o.onnx")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # background jobs ignore
    time.sleep(delay)
    proc.send_signal(sig)  # no effect if it already finished
    return proc.wait(timeout=60)


@pytest.mark.slow
def test_export_killed_at_any_moment_leaves_nothing_or_the_verified_file(tiny_checkpoints, tmp_path):
    """SIGKILL, SIGTERM and SIGINT from start to past the end: an empty folder or a complete, verified file."""
    folder = tmp_path / "timing"  # an uninterrupted run: its duration sets where the kills land
    folder.mkdir()
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from malade_export.cli.export import main; main()", "--classifier",
                    str(tiny_checkpoints["classifier"]), "--sdae", str(tiny_checkpoints["sdae"]), "--steps", "3",
                    str(folder / "o.onnx")], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
                   capture_output=True)
    total = time.perf_counter() - begin
    fractions = {signal.SIGKILL: (0.5, 0.8, 0.9, 0.97), signal.SIGTERM: (0.85,), signal.SIGINT: (0.9,)}
    outcomes = []
    for sig, points in fractions.items():
        for fraction in points:
            case = tmp_path / f"{sig.name}_{fraction}"
            code = _kill_export_at(total * fraction, sig, case, tiny_checkpoints)
            names = sorted(p.name for p in case.iterdir())
            outcomes.append((sig.name, fraction, code, names))
            assert names in ([], ["o.onnx"]), outcomes[-1]
            if names:  # the name appears only after verification: the file must be complete
                assert Session(case / "o.onnx").predict(np.zeros((1, 1, 28, 28), np.float32)).logits.shape == (1, 10)
    assert any(not names for *_, names in outcomes), outcomes  # some kills did land mid-export


# --- command line ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule, field", [("delta0=1e9", "delta0"), ("alpha0=nan", "alpha0"),
                                             ("delta_min=inf", "delta_min"), ("alpha0=-1", "alpha0")])
def test_schedule_values_are_bounded(schedule, field):
    with pytest.raises(MaladeError, match=field):
        Schedule.parse(schedule)


def test_drift_past_two_sigma_squared_is_refused(tiny_checkpoints):
    with pytest.raises(MaladeError, match="diverge"):
        load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], schedule=Schedule.parse("alpha0=0.9"))


@pytest.mark.parametrize("args", [["--schedule", "delta0=1e9"], ["--steps", "0"], ["--steps", str(10**30)],
                                  ["--votes", "-3"], ["--opset", "99"], ["--schedule", "decay=cubic"]])
def test_export_cli_refuses_absurd_options_in_one_line(args, tmp_path):
    result = CliRunner().invoke(export_main, [*args, str(tmp_path / "o.onnx")])
    assert result.exit_code != 0 and _one_line(result.output), result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unwritable_output_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    command = ["-c", "from malade_export.cli.export import main; main()", "--steps", "1", str(folder / "o.onnx")]
    if os.geteuid() == 0:  # root writes anywhere: run as nobody, where the system allows it
        if subprocess.run(["setpriv", "--help"], capture_output=True).returncode != 0:
            pytest.skip("root without setpriv")
        tmp_path.chmod(0o755)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    else:
        prefix = [sys.executable]
    result = subprocess.run(prefix + command, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "permission denied" in result.stderr.lower() and list(folder.iterdir()) == []


def test_openvino_never_claims_emulated_bf16():
    assert resolve_precision("auto", {"avx512f", "avx512bw"}) == "f32"
    assert resolve_precision("auto", {"avx512f", "avx512_bf16"}) == "bf16"
    assert resolve_precision("auto", {"amx_bf16"}) == "bf16"
    with pytest.raises(MaladeError, match="no native bf16"):
        resolve_precision("bf16", {"avx512f", "avx512bw"})


def test_bench_default_out_dir_is_not_the_committed_results_and_keeps_existing_files(tmp_path):
    from malade_export.cli.bench import DEFAULT_OUT_DIR
    from malade_export.cli.main import main

    assert not DEFAULT_OUT_DIR.startswith("results")
    (tmp_path / "latency.json").write_text("{}")
    result = CliRunner().invoke(main, ["bench", "--quick", "--out-dir", str(tmp_path)])
    assert result.exit_code == 1 and "--force" in result.output and _one_line(result.output)
    assert (tmp_path / "latency.json").read_text() == "{}"
