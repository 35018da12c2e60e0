"""`malade triton-repo` (write a Triton model repository) and `malade serve` (run Triton on one)."""
from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import MaladeError
from ..serving.config import QueuePolicy
from .common import one_line_errors


def repo_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options that shape a repository, shared by both commands."""
    options = [
        click.option("--variant", type=click.Choice(["python", "onnxruntime", "tensorrt"]), default="python",
                     show_default=True, help="python: one Python-backend model (any Triton); onnxruntime / tensorrt: "
                     "an ensemble of a noise-drawing Python model and the file under Triton's ONNX Runtime backend "
                     "or the --plan under TensorRT."),
        click.option("--plan", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="TensorRT plan built by `malade-export --trt-engine` (tensorrt variant)."),
        click.option("--device", type=click.Choice(["cpu", "gpu"]), default="cpu", show_default=True,
                     help="Instance group kind."),
        click.option("--instances", default=1, show_default=True, type=click.IntRange(1), help="Model instances."),
        click.option("--threads", default=0, show_default=True, type=click.IntRange(0),
                     help="ONNX Runtime intra-op threads per instance (0: its default)."),
        click.option("--name", default="malade", show_default=True, help="Model name clients call."),
        click.option("--max-batch-size", default=32, show_default=True, type=click.IntRange(1),
                     help="Largest batch Triton forms from queued requests."),
        click.option("--max-queue-size", default=64, show_default=True, type=click.IntRange(1),
                     help="Requests queued beyond this are rejected at once."),
        click.option("--queue-timeout-ms", default=5000, show_default=True, type=click.IntRange(1),
                     help="A request still queued after this is rejected."),
        click.option("--queue-delay-us", default=QueuePolicy.max_queue_delay_us, show_default=True,
                     type=click.IntRange(0),
                     help="How long Triton waits to fill a batch."),
        click.option("--expose-seeds", is_flag=True,
                     help="DEBUG ONLY: return each request's seeds (output `seed`), which lets clients replay noise."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(variant: str, plan: str | None, device: str, instances: int, threads: int, name: str,
             max_batch_size: int, max_queue_size: int, queue_timeout_ms: int, queue_delay_us: int,
             expose_seeds: bool) -> Any:
    from ..serving.triton_repo import RepoOptions

    policy = QueuePolicy(max_batch_size, queue_delay_us, max_queue_size, queue_timeout_ms * 1000)
    return RepoOptions(name, variant, device, instances, threads, policy, expose_seeds, Path(plan) if plan else None)


def _export_preset(name: str, noise_mode: str, folder: Path) -> Path:
    """Export a bundled preset (needs torch) for a repository; the repository copies the file."""
    from ..chain import load_defense
    from ..export import export_defense

    path = folder / "defense.onnx"
    export_defense(load_defense(preset_name=name), path, noise_mode=noise_mode)
    return path


@click.command(name="triton-repo")
@click.argument("source", metavar="ONNX_FILE|PRESET")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--noise", "noise_mode", type=click.Choice(["input", "seed"]), default="input", show_default=True,
              help="For a PRESET: the export's noise mode (seed lets the onnxruntime variant batch dynamically).")
@repo_options
@one_line_errors
def triton_repo_cmd(source: str, out: str, noise_mode: str, **options: Any) -> None:
    """Write a Triton model repository OUT for an exported ONNX_FILE (or a bundled PRESET, exported with the
    default settings); the server draws all noise.

    \b
    Example:  malade triton-repo defense.onnx model_repository
              malade triton-repo fashion-mnist model_repository --variant onnxruntime --noise seed
              tritonserver --model-repository model_repository
    """
    from ..serving.triton_repo import write_repository

    with tempfile.TemporaryDirectory(prefix="malade-repo-") as tmp:
        if Path(source).is_file():
            onnx_file = Path(source)
        elif source.endswith(".onnx"):
            raise MaladeError(f"model file {source} does not exist")
        else:
            onnx_file = _export_preset(source, noise_mode, Path(tmp))
        repo = write_repository(onnx_file, out, _options(**options))
    click.echo(f"wrote Triton repository {repo.path} ({options['variant']}): models {', '.join(repo.models)}; "
               f"clients call `{repo.entry}` with input x only"
               + ("" if repo.batched else " (noise-input file: no dynamic batching; export with --noise seed for it)"))
    if options["expose_seeds"]:
        click.echo("warning: --expose-seeds returns the noise seeds to clients: for debugging only", err=True)
    if repo.models != (repo.entry,):
        click.echo(f"note: Triton lets any client call the inner models ({', '.join(repo.models[1:])}) and choose "
                   "their noise; see docs/serving.md before exposing this server", err=True)


@click.command(name="serve")
@click.argument("source", type=click.Path(exists=True))
@click.option("--tritonserver", "binary", default=None,
              help="tritonserver binary or install folder [default: $MALADE_TRITONSERVER, PATH, /opt/tritonserver].")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--http-port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: a free port.")
@click.option("--grpc-port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="0: a free port.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Triton's log [default: stderr].")
@repo_options
@one_line_errors
def serve_cmd(source: str, binary: str | None, host: str, http_port: int, grpc_port: int, log_file: str | None,
              **options: Any) -> None:
    """Run Triton on SOURCE: a model repository, or an exported .onnx (served from a temporary repository).

    Prints the endpoints; SIGTERM or Ctrl-C stops the server (in-flight requests finish first).
    """
    from ..serving.server import TritonServer, find_tritonserver, free_port
    from ..serving.triton_repo import write_repository

    path = Path(source)
    models = tuple(sorted(p.parent.name for p in path.glob("*/config.pbtxt"))) if path.is_dir() else ()
    if path.is_dir() and not models:
        raise MaladeError(f"{path} holds no model (no */config.pbtxt): give a repository or an .onnx file")
    install = find_tritonserver(binary)
    workdir = None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if path.is_file():
            workdir = Path(tempfile.mkdtemp(prefix="malade-serve-"))
            repo = write_repository(path, workdir / "repository", _options(**options))
            root, models = repo.path, repo.models
        else:
            root = path
        server = TritonServer(root, install, host, http_port or free_port(host), grpc_port or free_port(host),
                              log_path=log_file)
        server.start()
        try:
            click.echo(f"tritonserver {install.binary} (pid {server.pid}) serving {root}: {', '.join(models)}")
            click.echo(f"  HTTP  http://{server.http_url}/v2/models/<model>/infer")
            click.echo(f"  gRPC  {server.grpc_url}")
            click.echo("Ctrl-C or SIGTERM stops it.", nl=True)
            while not stop.is_set():
                if server.process is not None and server.process.poll() is not None:
                    raise MaladeError(f"tritonserver exited unexpectedly with code {server.process.returncode}")
                stop.wait(0.5)
        finally:
            code = server.stop()
        click.echo(f"tritonserver stopped (exit code {code})")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
