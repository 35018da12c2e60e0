"""A real tritonserver on the Python-backend repository, queried over HTTP and gRPC with tritonclient.

Skips only when no tritonserver is installed (scripts/test.sh installs one: install_tritonserver.sh).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from malade_export import export_defense, load_defense
from malade_export.errors import MaladeError
from malade_export.runtime import Session
from malade_export.serving.server import TritonServer, find_tritonserver
from malade_export.serving.triton_repo import RepoOptions, write_repository

httpclient = pytest.importorskip("tritonclient.http", reason="tritonclient[http] not installed")
grpcclient = pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] not installed")
from tritonclient.utils import InferenceServerException  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _install():
    try:
        return find_tritonserver(os.environ.get("MALADE_TRITONSERVER") or
                                 (ROOT / ".triton" if (ROOT / ".triton").is_dir() else None))
    except MaladeError as exc:
        pytest.skip(f"tritonserver is not installed ({exc})")


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions ``text`` (the server and its Python-backend stubs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "defense.onnx"
    export_defense(load_defense(None, None, steps=3), path, noise_mode="input", verify=False)
    return path


@pytest.fixture(scope="module")
def server(onnx_file, tmp_path_factory):
    """One server on two repositories: production `malade` and debug `malade_debug` (seeds exposed)."""
    folder = tmp_path_factory.mktemp("repos")
    prod = write_repository(onnx_file, folder / "prod", RepoOptions())
    debug = write_repository(onnx_file, folder / "debug", RepoOptions(name="malade_debug", expose_seeds=True))
    srv = TritonServer(prod.path, _install(), log_path=folder / "triton.log",
                       extra_args=[f"--model-repository={debug.path}"], exit_timeout_s=10)
    srv.start()
    yield srv
    pid, repo = srv.pid, str(folder)
    started = time.monotonic()
    assert srv.stop() == 0
    assert time.monotonic() - started < 8, "shutdown waited on an open client connection"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _processes_mentioning(repo) == [], "a server or backend stub outlived the server"


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def _infer(module, url: str, model: str, tensors: dict[str, np.ndarray]):
    client = module.InferenceServerClient(url)
    try:
        inputs = []
        for name, value in tensors.items():
            tensor = module.InferInput(name, list(value.shape), "FP32" if value.dtype == np.float32 else "INT64")
            tensor.set_data_from_numpy(value)
            inputs.append(tensor)
        return client.infer(model, inputs)
    finally:
        client.close()  # an open keep-alive connection would make the server wait out its exit timeout


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_outputs_match_session_predict_under_the_served_seeds(server, onnx_file, protocol):
    module, url = (httpclient, server.http_url) if protocol == "http" else (grpcclient, server.grpc_url)
    x = _images(3)
    result = _infer(module, url, "malade_debug", {"x": x})
    seeds = result.as_numpy("seed").reshape(-1)
    assert seeds.shape == (3,) and len(set(seeds.tolist())) == 3
    expected = Session(onnx_file).predict(x, seed=seeds)
    np.testing.assert_allclose(result.as_numpy("logits"), expected.logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.as_numpy("purified"), expected.purified, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.as_numpy("score").reshape(-1), expected.score, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("extra", ["seed", "noise"])
def test_a_request_naming_its_seed_or_noise_is_refused(server, protocol, extra):
    module, url = (httpclient, server.http_url) if protocol == "http" else (grpcclient, server.grpc_url)
    x = _images(1)
    chosen = np.array([7], dtype=np.int64) if extra == "seed" else np.zeros((3, 1, 1, 28, 28), np.float32)
    for model in ("malade", "malade_debug"):
        with pytest.raises(InferenceServerException, match=f"expected 1 inputs but got 2 inputs.*'{extra}'"):
            _infer(module, url, model, {"x": x, extra: chosen})


def test_production_model_returns_no_seed(server):
    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        tensor = grpcclient.InferInput("x", [1, 1, 28, 28], "FP32")
        tensor.set_data_from_numpy(_images(1))
        with pytest.raises(InferenceServerException, match="seed"):
            client.infer("malade", [tensor], outputs=[grpcclient.InferRequestedOutput("seed")])
        names = [o.name for o in client.get_model_metadata("malade").outputs]
        assert names == ["logits", "purified", "score"]
    finally:
        client.close()


def test_identical_requests_get_different_noise(server):
    x = _images(2, seed=1)
    first = _infer(httpclient, server.http_url, "malade", {"x": x}).as_numpy("purified")
    second = _infer(grpcclient, server.grpc_url, "malade", {"x": x}).as_numpy("purified")
    third = _infer(httpclient, server.http_url, "malade", {"x": x}).as_numpy("purified")
    assert np.abs(first - second).max() > 1e-3 and np.abs(first - third).max() > 1e-3


def test_bad_input_fails_alone_and_the_server_keeps_serving(server):
    with pytest.raises(InferenceServerException, match=r"x must lie in \[0, 1\]"):
        _infer(grpcclient, server.grpc_url, "malade", {"x": _images(1) + 2.0})
    assert _infer(grpcclient, server.grpc_url, "malade", {"x": _images(1)}).as_numpy("logits").shape == (1, 10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_command_starts_prints_endpoints_and_stops_on_signal(onnx_file, sig):
    _install()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-c", "from malade_export.cli.main import main; main()", "serve", str(onnx_file),
               "--http-port", "0", "--grpc-port", "0", "--log-file", os.devnull]
    if os.environ.get("MALADE_TRITONSERVER") is None and (ROOT / ".triton").is_dir():
        command += ["--tritonserver", str(ROOT / ".triton")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        assert lines[0].startswith("tritonserver ") and "malade" in lines[0], lines
        http = lines[1].split("http://")[1].split("/")[0]
        grpc = lines[2].split()[1]
        assert http.startswith("127.0.0.1:") and grpc.startswith("127.0.0.1:")
        assert _infer(httpclient, http, "malade", {"x": _images(1)}).as_numpy("logits").shape == (1, 10)
        server_pid = int(lines[0].split("(pid ")[1].split(")")[0])
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "tritonserver stopped (exit code 0)" in out
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)


def test_a_crashed_parent_leaves_no_server_behind(server, tmp_path):
    """The server's parent dies without stopping it: Linux's parent-death signal stops it anyway."""
    code = ("import os, sys\nfrom malade_export.serving.server import TritonServer, find_tritonserver\n"
            f"s = TritonServer({str(server.repository)!r}, find_tritonserver({str(server.install.binary)!r}), "
            f"log_path={str(tmp_path / 'log')!r}).start()\nprint(s.pid, flush=True)\nos._exit(9)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    pid = int(result.stdout.split()[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the orphaned server kept running")
