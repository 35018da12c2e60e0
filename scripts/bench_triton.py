"""Triton under load and faults, beside bare Session.predict on the same cores.

Writes results/serving/triton_load.{json,md,png}: batch-1 latency (p50/p99) and throughput for
1/8/32 concurrent clients over HTTP and gRPC with the batch sizes Triton formed (statistics
endpoint); overload (a small queue flooded, then requests past their timeout): sent = answered +
rejected; a client killed mid-request; SIGTERM under load. The server's PID is watched throughout
(a restart would change it).

    python scripts/bench_triton.py [--onnx FILE] [--seconds 3] [--tritonserver DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tritonclient.grpc as grpcclient  # noqa: E402
import tritonclient.http as httpclient  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from malade_export.runtime import Session  # noqa: E402
from malade_export.serving.config import QueuePolicy  # noqa: E402
from malade_export.serving.server import TritonServer, find_tritonserver  # noqa: E402
from malade_export.serving.triton_repo import RepoOptions, write_repository  # noqa: E402

X = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)


def percentile_ms(latencies: list[float], q: float) -> float:
    return float(np.percentile(latencies, q) * 1e3) if latencies else float("nan")


def make_request(protocol: str, url: str, model: str) -> tuple[Callable[..., Any], Callable[[], None]]:
    """A blocking infer(timeout_us=None) on its own connection, and its close."""
    module = httpclient if protocol == "http" else grpcclient
    client = module.InferenceServerClient(url, **({"connection_timeout": 60, "network_timeout": 60}
                                                  if protocol == "http" else {}))
    tensor = module.InferInput("x", list(X.shape), "FP32")
    tensor.set_data_from_numpy(X)

    def infer(timeout_us: int | None = None) -> Any:
        kwargs: dict[str, Any] = {"timeout": timeout_us} if timeout_us else {}
        if protocol == "grpc":
            kwargs["client_timeout"] = 60
        return client.infer(model, [tensor], **kwargs)

    return infer, client.close


def batch_stats(url: str, model: str) -> dict[int, int]:
    """batch size -> executions, from Triton's statistics endpoint."""
    client = httpclient.InferenceServerClient(url)
    try:
        stats = client.get_inference_statistics(model)["model_stats"][0]
    finally:
        client.close()
    return {int(b["batch_size"]): int(b["compute_infer"]["count"]) for b in stats.get("batch_stats", [])}


def load_point(server: TritonServer, protocol: str, model: str, clients: int, seconds: float) -> dict[str, Any]:
    url = server.http_url if protocol == "http" else server.grpc_url
    before = batch_stats(server.http_url, model)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = Counter()
    warmed, go = threading.Barrier(clients + 1), threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        infer, close = make_request(protocol, url, model)
        try:
            infer()  # connect and warm the connection before timing
            warmed.wait()
            go.wait()
            while time.perf_counter() < deadline[0]:
                t0 = time.perf_counter()
                try:
                    infer()
                    latencies[i].append(time.perf_counter() - t0)
                except InferenceServerException as exc:
                    errors[str(exc).splitlines()[0][:120]] += 1
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    warmed.wait()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    go.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    after = batch_stats(server.http_url, model)
    formed = {b: after.get(b, 0) - before.get(b, 0) for b in sorted(after) if after.get(b, 0) > before.get(b, 0)}
    flat = [v for lat in latencies for v in lat]
    return {"protocol": protocol, "clients": clients, "requests": len(flat), "errors": dict(errors),
            "seconds": round(elapsed, 3), "req_per_s": round(len(flat) / elapsed, 1),
            "p50_ms": round(percentile_ms(flat, 50), 2), "p99_ms": round(percentile_ms(flat, 99), 2),
            "batches_formed": formed}


def bare_point(session: Session, clients: int, seconds: float) -> dict[str, Any]:
    """Session.predict at batch 1 from ``clients`` threads sharing one session (as the served model does)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    session.predict(X)
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            session.predict(X)
            latencies[i].append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [v for lat in latencies for v in lat]
    return {"protocol": "bare Session.predict", "clients": clients, "requests": len(flat),
            "req_per_s": round(len(flat) / elapsed, 1), "p50_ms": round(percentile_ms(flat, 50), 2),
            "p99_ms": round(percentile_ms(flat, 99), 2)}


def flood(server: TritonServer, model: str, requests: int, timeout_us: int | None) -> dict[str, Any]:
    """Send ``requests`` at once over gRPC (async); every one must come back answered or rejected."""
    client = grpcclient.InferenceServerClient(server.grpc_url)
    tensor = grpcclient.InferInput("x", list(X.shape), "FP32")
    tensor.set_data_from_numpy(X)
    outcomes: Counter[str] = Counter()
    done = threading.Semaphore(0)

    def callback(result: Any, error: Any) -> None:
        outcomes["answered" if error is None else "rejected: " + str(error).splitlines()[0][:120]] += 1
        done.release()

    try:
        for _ in range(requests):
            client.async_infer(model, [tensor], callback, client_timeout=120,
                               **({"timeout": timeout_us} if timeout_us else {}))
        returned = sum(done.acquire(timeout=120) for _ in range(requests))
    finally:
        client.close()
    answered = outcomes.pop("answered", 0)
    return {"sent": requests, "answered": answered, "rejected": sum(outcomes.values()),
            "lost": requests - returned, "rejections": dict(outcomes)}


def still_serving(server: TritonServer, model: str, pid: int) -> bool:
    infer, close = make_request("grpc", server.grpc_url, model)
    try:
        return server.pid == pid and infer().as_numpy("logits").shape == (1, 10)
    finally:
        close()


KILLED_CLIENT = """
import sys, numpy as np, tritonclient.http as h
c = h.InferenceServerClient(sys.argv[1]); x = np.random.rand(32, 1, 28, 28).astype(np.float32)
t = h.InferInput("x", list(x.shape), "FP32"); t.set_data_from_numpy(x)
print("sending", flush=True); c.infer(sys.argv[2], [t])
"""


def killed_client(server: TritonServer, model: str, pid: int) -> dict[str, Any]:
    """A client SIGKILLed while its (batch-32) request runs; the server must keep serving."""
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, server.http_url, model], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "sending"
    time.sleep(0.05)
    proc.kill()
    proc.wait()
    time.sleep(1.0)
    return {"client_killed_mid_request": True, "server_still_serving": still_serving(server, model, pid)}


def sigterm_under_load(server: TritonServer, model: str, clients: int) -> dict[str, Any]:
    """SIGTERM while ``clients`` loop on gRPC: each request must succeed or fail explicitly, none hang."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = [float("inf")]

    def worker() -> None:
        infer, close = make_request("grpc", server.grpc_url, model)
        try:
            while time.perf_counter() < stop_at[0]:
                try:
                    infer()
                    key = "answered"
                except InferenceServerException as exc:
                    key = "failed explicitly: " + str(exc).splitlines()[0][:120]
                with lock:
                    outcomes[key] += 1
                if key != "answered":
                    break
        finally:
            close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.perf_counter()
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=60)
    exit_s = time.perf_counter() - t0
    stop_at[0] = time.perf_counter() + 2.0
    for t in threads:
        t.join(timeout=70)
    hung = sum(t.is_alive() for t in threads)
    server.process = None
    return {"clients": clients, "exit_code": code, "exit_seconds": round(exit_s, 2), "hung_clients": hung,
            "outcomes": dict(outcomes)}


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label in ("http", "grpc", "bare Session.predict"):
        rows = sorted({p["clients"]: p for p in points if p["protocol"] == label}.values(), key=lambda p: p["clients"])
        if rows:
            xs = [p["clients"] for p in rows]
            line = ax.plot(xs, [p["p50_ms"] for p in rows], marker="o", label=f"{label} p50")[0]
            ax.plot(xs, [p["p99_ms"] for p in rows], marker="x", ls="--", color=line.get_color(), label=f"{label} p99")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted({p["clients"] for p in points})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("concurrent clients (batch 1)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Malade defence on Triton (Python backend) vs bare Session.predict")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(record: dict[str, Any]) -> str:
    lines = ["# Triton under load (generated by scripts/bench_triton.py)", "",
             f"- CPU: {record['cpu']} ({record['cores']} cores, shared with other work: load average before "
             f"{record['load_before']}, after {record['load_after']})",
             f"- command: `{record['command']}`", f"- commit: {record['commit']}",
             f"- model: {record['model']}; repository: Python backend, {record['repo']}",
             "- clients: threads of one Python process (tritonclient, one connection each) on the same cores as "
             "the server; bare: threads sharing one Session", f"- {record['seconds']} s per point", "",
             "| client | clients | req/s | p50 ms | p99 ms | batches Triton formed (size: count) | errors |",
             "|---|---|---|---|---|---|---|"]
    for p in record["load"]:
        formed = ", ".join(f"{b}: {n}" for b, n in p.get("batches_formed", {}).items()) or "-"
        lines.append(f"| {p['protocol']} | {p['clients']} | {p['req_per_s']} | {p['p50_ms']} | {p['p99_ms']} | "
                     f"{formed} | {sum(p.get('errors', {}).values())} |")
    g = record["goals"]
    lines += ["", "## Goals", "",
              "- Triton p50 one client / bare p50 (the better of the bare runs before and after): "
              f"gRPC {g['grpc_p50_ratio']}x, HTTP {g['http_p50_ratio']}x "
              "(goal <= 1.5x)",
              f"- 8 clients / 1 client throughput: gRPC {g['grpc_8_over_1']}x, HTTP {g['http_8_over_1']}x "
              "(goal >= 1.5x)",
              f"- overload: lost {g['lost']}, server restarts {g['restarts']} (goal 0 and 0)", "",
              "## Faults", ""]
    for f in record["overload"]:
        lines.append(f"- {f['case']}: sent {f['sent']} = answered {f['answered']} + rejected {f['rejected']} "
                     f"(lost {f['lost']}); rejections {f['rejections']}; still serving after: {f['still_serving']}")
    k, s = record["killed_client"], record["sigterm"]
    lines.append(f"- client SIGKILLed mid-request (batch 32): server still serving: {k['server_still_serving']}")
    lines.append(f"- SIGTERM under {s['clients']} gRPC clients: exit code {s['exit_code']} after "
                 f"{s['exit_seconds']} s; outcomes {s['outcomes']}; clients hung: {s['hung_clients']}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, default=None, help="exported file [default: export the default defence]")
    parser.add_argument("--seconds", type=float, default=3.0, help="per load point")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads (served and bare; 0: ORT's)")
    parser.add_argument("--instances", type=int, default=2, help="model instances of the served model")
    parser.add_argument("--queue-delay-us", type=int, default=QueuePolicy.max_queue_delay_us,
                        help="how long Triton holds a request to batch it with others")
    parser.add_argument("--tritonserver", default=os.environ.get("MALADE_TRITONSERVER") or str(ROOT / ".triton"))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "serving")
    args = parser.parse_args()
    install = find_tritonserver(args.tritonserver)
    clients = [int(c) for c in args.clients.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-triton-") as tmp:
        work = Path(tmp)
        onnx_path = args.onnx
        if onnx_path is None:
            from malade_export import export_defense, load_defense

            onnx_path = work / "defense.onnx"
            export_defense(load_defense(None, None), onnx_path, noise_mode="input", verify=False)
        policy = QueuePolicy(max_batch_size=32, max_queue_delay_us=args.queue_delay_us, max_queue_size=64,
                             timeout_us=5_000_000)
        main_repo = write_repository(onnx_path, work / "repo", RepoOptions(threads=args.threads, policy=policy,
                                                                          instances=args.instances))
        small = QueuePolicy(max_batch_size=4, max_queue_delay_us=args.queue_delay_us, max_queue_size=8,
                            timeout_us=2_000_000)
        small_repo = write_repository(onnx_path, work / "small", RepoOptions(name="malade_small", policy=small,
                                                                            threads=args.threads))
        server = TritonServer(main_repo.path, install, log_path=work / "triton.log", exit_timeout_s=20,
                              extra_args=[f"--model-repository={small_repo.path}"]).start()
        pid = server.pid
        try:
            session = Session(onnx_path, threads=args.threads or None)
            points = [bare_point(session, c, args.seconds) for c in (1, 8)]
            for protocol in ("http", "grpc"):
                points += [load_point(server, protocol, "malade", c, args.seconds) for c in clients]
            points.append(bare_point(session, 1, args.seconds))  # again: the machine's load drifts
            overload = []
            for case, n, timeout in (("flood: 64 requests at once into a queue of 8", 64, None),
                                     ("past timeout: 64 requests with a 2 ms queue timeout", 64, 2000)):
                result = flood(server, "malade_small", n, timeout)
                overload.append({"case": case, **result, "still_serving": still_serving(server, "malade", pid)})
            killed = killed_client(server, "malade", pid)
            restarts = int(server.pid != pid)
            sig = sigterm_under_load(server, "malade", 8)
        finally:
            server.stop()
        meta = session.metadata
    by = {(p["protocol"], p["clients"]): p for p in points}
    bare = min(p["p50_ms"] for p in points if p["protocol"] == "bare Session.predict" and p["clients"] == 1)
    goals = {"grpc_p50_ratio": round(by[("grpc", 1)]["p50_ms"] / bare, 2),
             "http_p50_ratio": round(by[("http", 1)]["p50_ms"] / bare, 2),
             "grpc_8_over_1": round(by[("grpc", 8)]["req_per_s"] / by[("grpc", 1)]["req_per_s"], 2),
             "http_8_over_1": round(by[("http", 8)]["req_per_s"] / by[("http", 1)]["req_per_s"], 2),
             "lost": sum(f["lost"] for f in overload), "restarts": restarts}
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "unknown")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    record = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
              "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()],
              "command": "python " + " ".join(shlex.quote(a) for a in sys.argv), "commit": commit.stdout.strip(),
              "model": f"default defence, {meta.get('steps')} steps, noise input",
              "repo": f"max_batch_size {policy.max_batch_size}, queue {policy.max_queue_size}, "
                      f"queue delay {policy.max_queue_delay_us} us, {args.instances} instance(s), "
                      f"ORT threads {args.threads or 'default'}",
              "seconds": args.seconds, "load": points, "overload": overload, "killed_client": killed, "sigterm": sig,
              "goals": goals}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "triton_load.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / "triton_load.md").write_text(markdown(record))
    plot(points, args.out / "triton_load.png")
    print(markdown(record))


if __name__ == "__main__":
    main()
