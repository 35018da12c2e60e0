"""Start and stop a real ``tritonserver`` on a model repository, on loopback ports, by PID.

The binary is found, in order: an explicit path, ``$MALADE_TRITONSERVER``, ``tritonserver`` on PATH,
``/opt/tritonserver/bin/tritonserver`` (NVIDIA's container). Its backends are the ``backends`` folder
beside ``bin``. Python-backend models run in an interpreter embedded in Triton's stub, which links
the Python library and ignores the environment's site-packages: the server is started with
``LD_LIBRARY_PATH`` naming this interpreter's library folder and ``PYTHONPATH`` naming this
environment's site-packages and the folder ``malade_export`` is imported from (the repository's
model.py files honour it), so the stub imports the same numpy, onnxruntime and malade_export.
"""
from __future__ import annotations

import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import MaladeError

CONTAINER_BINARY = Path("/opt/tritonserver/bin/tritonserver")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class TritonInstall:
    binary: Path
    backend_dir: Path


def find_tritonserver(explicit: str | Path | None = None) -> TritonInstall:
    """The tritonserver binary to run, or a MaladeError saying how to get one."""
    candidates: list[Path] = []
    for given in (explicit, os.environ.get("MALADE_TRITONSERVER")):
        if given:
            path = Path(given)
            if path.is_dir():  # an install folder: scripts/install_tritonserver.sh's layout, or Triton's own
                path = next((p for p in (path / "pytriton/tritonserver/bin/tritonserver", path / "bin/tritonserver")
                             if p.is_file()), path / "bin/tritonserver")
            if not path.is_file():
                raise MaladeError(f"no tritonserver at {given}")
            candidates.append(path)
    on_path = shutil.which("tritonserver")
    candidates += [Path(on_path)] if on_path else []
    candidates += [CONTAINER_BINARY] if CONTAINER_BINARY.is_file() else []
    if not candidates:
        raise MaladeError("no tritonserver found: run scripts/install_tritonserver.sh DEST and set "
                          "MALADE_TRITONSERVER=DEST, or use NVIDIA's Triton container")
    binary = candidates[0].resolve()
    return TritonInstall(binary, binary.parent.parent / "backends")


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stub_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that lets the Python backend's stub import this environment's packages."""
    env = dict(os.environ if base is None else base)
    libdir = sysconfig.get_config_var("LIBDIR") or str(Path(sys.base_prefix) / "lib")
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding malade_export/
    paths = [package_root, *site.getsitepackages(), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    return env


def _terminate_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server if its parent dies, so a crash leaves no server behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TritonServer:
    """A ``tritonserver`` child process: ``start()`` waits until it is ready, ``stop()`` ends it by PID.

    The server is also SIGTERMed if the thread that started it dies, so call ``start()`` from a thread
    that outlives the server (the main thread, usually).
    """

    def __init__(self, repository: str | Path, install: TritonInstall | None = None, host: str = LOOPBACK,
                 http_port: int | None = None, grpc_port: int | None = None, exit_timeout_s: int = 30,
                 log_path: str | Path | None = None, extra_args: Sequence[str] = ()) -> None:
        self.repository = Path(repository).resolve()
        self.install = install or find_tritonserver()
        self.host = host
        self.http_port = http_port or free_port(host)
        self.grpc_port = grpc_port or free_port(host)
        self.exit_timeout_s = exit_timeout_s
        self.log_path = Path(log_path) if log_path else None  # None: the server logs to this process's stderr
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise MaladeError("the server is not running")
        return self.process.pid

    def command(self) -> list[str]:
        return [str(self.install.binary), f"--model-repository={self.repository}",
                f"--backend-directory={self.install.backend_dir}", f"--http-address={self.host}",
                f"--http-port={self.http_port}", f"--grpc-address={self.host}", f"--grpc-port={self.grpc_port}",
                "--allow-metrics=false", f"--exit-timeout-secs={self.exit_timeout_s}", *self.extra_args]

    def start(self, timeout_s: float = 120.0) -> TritonServer:
        if not self.repository.is_dir():
            raise MaladeError(f"model repository {self.repository} does not exist")
        log: IO[bytes] | None = self.log_path.open("ab") if self.log_path else None
        try:
            self.process = subprocess.Popen(self.command(), env=stub_environment(), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_terminate_with_parent)
        finally:
            if log:
                log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise MaladeError(f"tritonserver exited with code {code} while loading {self.repository}: "
                                  f"{self.log_error()}")
            if self.ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise MaladeError(f"tritonserver was not ready within {timeout_s:.0f} s")

    def log_error(self) -> str:
        """The first error line of the server's log, for one-line messages."""
        if not self.log_path or not self.log_path.is_file():
            return "its log (stderr) says why"
        lines = self.log_path.read_text(errors="replace").splitlines()
        errors = [line for line in lines if line.startswith("E") or "error:" in line]
        return (errors or lines or ["empty log"])[0][:500]

    def ready(self) -> bool:
        """GET /v2/health/ready with a fresh connection that is closed at once (no keep-alive left open)."""
        try:
            with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM the server's PID and wait for it (SIGKILL past the timeout); return its exit code."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s if timeout_s is not None else self.exit_timeout_s + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def __enter__(self) -> TritonServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
