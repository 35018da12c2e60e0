"""Re-run every row of the hostile-input table (issue: hostile files and bad input) and print the outcomes.

    PYTHONPATH=. python scripts/hostile_inputs.py [--kills 8] [--out results/hostile_inputs/table.md]

Each bad input runs in a fresh subprocess, which imports what it needs, then records its own peak
memory (ru_maxrss) and clock around the refusal alone; the parent checks the exit status, that
stderr holds one line and no traceback, and that the output folder holds nothing it should not.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
WEIGHTS = ROOT / "malade_export" / "weights"
SLICE = ROOT / "tests" / "data" / "fashion-mnist-slice"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the child: one action, measured -----------------------------------------------------------------------------

def _cli(args: list[str], program: str = "malade-export") -> tuple[int, str]:
    from malade_export.cli.export import main as export_main
    from malade_export.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            (export_main if program == "malade-export" else main).main(args, prog_name=program)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


def _catch(action: Any) -> tuple[int, str]:
    from malade_export.errors import MaladeError

    try:
        action()
    except (MaladeError, ValueError) as exc:
        return 1, f"{type(exc).__name__}: {exc}"
    return 0, ""


def child(row: str, work: Path) -> dict[str, Any]:
    """Prepare row ``row`` in ``work``, then run only its action under the clock and memory high-water mark."""
    import numpy as np
    from hostile_files import first_weight_nan, tamper_checkpoint, tamper_onnx

    from malade_export.runtime import Session

    out = work / "out"
    out.mkdir(exist_ok=True)
    kind, _, arg = row.partition(":")
    clf, sdae = WEIGHTS / "classifier_a.safetensors", WEIGHTS / "sdae_a_c48k5_e10.safetensors"
    dae = WEIGHTS / "dae.safetensors"
    x1 = np.full((1, 1, 28, 28), 0.5, np.float32)
    if kind == "ckpt":  # a tampered checkpoint fed to malade-export
        changes = json.loads(arg)
        base = clf if changes.pop("_base", "sdae") == "classifier" else sdae
        edit = first_weight_nan if changes.pop("_nan_weight", False) else None
        flag = "--" + changes.pop("_as", "classifier" if base == clf else "sdae")
        bad = tamper_checkpoint(base, work / "bad.safetensors", changes, tensors=edit)
        action = lambda: _cli([flag, str(bad), "--steps", "2", str(out / "o.onnx")])  # noqa: E731
    elif kind == "onnx":
        source = work / "good.onnx"
        shutil.copy(arg_file(work), source)
        bad = tamper_onnx(source, work / "bad.onnx", **json.loads(arg))
        action = lambda: _catch(lambda: Session(bad).predict(x1))  # noqa: E731
    elif kind == "batch":
        session = Session(arg_file(work))
        xs = np.random.default_rng(0).random((int(arg), 1, 28, 28), dtype=np.float32)
        action = lambda: _catch(lambda: session.predict(xs))  # noqa: E731
    elif kind == "seed":
        session = Session(arg_file(work))
        seed = eval(arg, {"np": np})  # the row's own literal, e.g. "2**63" or "np.zeros((3, 1), np.int64)"
        x3 = np.full((3, 1, 28, 28), 0.5, np.float32)
        action = lambda: _catch(lambda: session.predict(x3, seed=seed))  # noqa: E731
    elif kind == "cli":
        if "/ro/" in arg:  # a folder this (unprivileged) process may not write into
            (out / "ro").mkdir()
            (out / "ro").chmod(0o555)
        args = [a.replace("{out}", str(out)).replace("{dae}", str(dae)).replace("{slice}", str(SLICE))
                for a in json.loads(arg)]
        program = "malade" if args and args[0] in ("eval", "bench") else "malade-export"
        action = lambda: _cli(args, program)  # noqa: E731
    elif kind == "ov":
        from malade_export.runtime.openvino import resolve_precision

        flags = set(arg.split(",")) - {""}
        action = lambda: _catch(lambda: resolve_precision("bf16", flags))  # noqa: E731
    else:
        raise SystemExit(f"unknown row {row}")
    import onnx  # noqa: F401  what the commands import lazily, imported before the clock starts
    import torch  # noqa: F401

    import malade_export.chain  # noqa: F401
    import malade_export.export  # noqa: F401

    before, start = _peak_mb(), time.perf_counter()
    code, message = action()
    return {"code": code, "message": message.strip(), "seconds": time.perf_counter() - start,
            "added_mb": max(0.0, _peak_mb() - before), "peak_mb": _peak_mb()}


def arg_file(work: Path) -> Path:
    return Path(os.environ["HOSTILE_ONNX"])


# --- the parent: rows, checks, table -------------------------------------------------------------------------------

CKPT_ROWS = {
    "sDAE sigma = NaN": {"sigma": float("nan")},
    "sDAE with one NaN weight": {"_nan_weight": True},
    "channels 1e9": {"channels": 10**9},
    "kernel 1e5": {"kernel": 10**5},
    "input_shape [1, 1e5, 1e5]": {"input_shape": [1, 10**5, 10**5]},
    "num_classes 1e9": {"_base": "classifier", "num_classes": 10**9},
    "channels -1": {"channels": -1},
    "classifier relabelled kind=sdae, given as --sdae": {"_base": "classifier", "kind": "sdae", "_as": "sdae"},
    "classifier [1, 3000, 3000]": {"_base": "classifier", "input_shape": [1, 3000, 3000]},
}
ONNX_ROWS = {
    "ONNX metadata malade.steps=1000000": {"metadata": {"malade.steps": "1000000"}},
    "ONNX metadata steps != noise input": {"metadata": {"malade.steps": "11"}},
    "ONNX noise input with dynamic steps": {"noise_dims": ["n", "chains", 1, 28, 28]},
    "ONNX file with NaN weights (served)": {"nan_weights": True},
}
SEED_ROWS = ["2**63", "2**64 + 5", "[1, 2]", "np.zeros((3, 1), np.int64)", "1.7", "'12'", "True", "-1"]
CLI_ROWS = {
    "--schedule delta0=1e9": ["--schedule", "delta0=1e9", "{out}/o.onnx"],
    "--schedule alpha0=nan": ["--schedule", "alpha0=nan", "{out}/o.onnx"],
    "--steps 10**30": ["--steps", str(10**30), "{out}/o.onnx"],
    "--votes 0": ["--votes", "0", "{out}/o.onnx"],
    "output into a missing folder": ["{out}/missing/o.onnx"],
}
SUCCESS_ROWS = {
    "README MagNet export (--sdae dae --magnet)": ["--sdae", "{dae}", "--magnet", "{out}/magnet.onnx"],
    "malade eval without --classifier/--sdae": ["eval", "--dataset", "idx:{slice}", "--steps", "1", "--attack", "none",
                                                "--n", "8", "--holdout", "0"],
}


def _spawn(row: str, work: Path, onnx: Path | None, runas: list[str] | None = None) -> tuple[dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOSTILE_ONNX": str(onnx or "")}
    proc = subprocess.run([*(runas or []), sys.executable, __file__, "--child", row, "--work", str(work)],
                          capture_output=True, text=True, env=env, timeout=600)
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1]), proc.stderr
    except (IndexError, ValueError):
        return {"code": proc.returncode, "message": proc.stderr.strip()[-300:], "seconds": float("nan"),
                "added_mb": float("nan"), "peak_mb": float("nan")}, proc.stderr


def _row(family: str, name: str, row: str, onnx: Path | None, expect_ok: bool = False,
         runas: list[str] | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    if runas:
        os.chmod(work, 0o777)
    result, stderr = _spawn(row, work, onnx, runas)
    out = work / "out"
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    shutil.rmtree(work, ignore_errors=True)
    message = result["message"]
    traceback = "Traceback" in message or "Traceback" in stderr
    one_line = message.count("\n") == 0
    if expect_ok:
        ok = result["code"] == 0 and not traceback
        outcome = "ran correctly" if ok else f"FAILED: {message[:120]}"
    else:
        ok = result["code"] != 0 and one_line and not traceback and not left
        outcome = (message.splitlines() or ["(no message)"])[0]
    return {"family": family, "input": name, "ok": ok, "outcome": outcome, "traceback": traceback,
            "left": left if not expect_ok else [], "seconds": result["seconds"], "added_mb": result["added_mb"],
            "peak_mb": result["peak_mb"], "refusal": not expect_ok}


def _default_sigint() -> None:
    """A job started in the background ignores SIGINT, and its children inherit that: undo it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _kills(count: int, onnx_dir: Path) -> list[dict[str, Any]]:
    """SIGKILL / SIGTERM / SIGINT an export of the default model at ``count`` points across its run."""
    command = [sys.executable, "-c", "from malade_export.cli.export import main; main()", "--steps", "3"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    folder = Path(tempfile.mkdtemp(prefix="hostile-kill-"))
    start = time.perf_counter()
    subprocess.run([*command, str(folder / "o.onnx")], env=env, check=True, capture_output=True)
    total = time.perf_counter() - start
    shutil.rmtree(folder)
    rows = []
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    for index in range(count):
        sig = signals[index % 3]
        delay = total * (0.15 + 0.75 * index / max(1, count - 1))  # the clock of a loaded machine varies
        folder = Path(tempfile.mkdtemp(prefix="hostile-kill-"))
        proc = subprocess.Popen([*command, str(folder / "o.onnx")], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
        time.sleep(delay)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        names = sorted(p.name for p in folder.iterdir())
        complete = names == ["o.onnx"] and _serves(folder / "o.onnx")
        ok = names == [] or complete
        outcome = f"exit {proc.returncode}, folder empty" if not names else (
            f"exit {proc.returncode}, the verified file (it gets its name only after verification) serves" if complete
            else f"LEFT {names}")
        rows.append({"family": "interrupted export", "input": f"{sig.name} at {delay:.1f} s of {total:.1f} s",
                     "ok": ok, "outcome": outcome,
                     "traceback": "Traceback" in stderr, "left": [] if ok else names, "seconds": float("nan"),
                     "added_mb": float("nan"), "peak_mb": float("nan"), "refusal": False})
        shutil.rmtree(folder)
    return rows


def _serves(path: Path) -> bool:
    import numpy as np

    from malade_export.runtime import Session

    try:
        return Session(path).predict(np.zeros((1, 1, 28, 28), np.float32)).logits.shape == (1, 10)
    except Exception:  # noqa: BLE001  anything at all means the file is not complete
        return False


def _unwritable() -> dict[str, Any] | None:
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        return None
    return {"runas": ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]}


def _bf16_timing(onnx: Path) -> str:
    import numpy as np

    from malade_export.runtime.openvino import OpenVINOSession, native_bf16

    if not native_bf16():
        return "this CPU has no native bf16: precision='auto' picks f32, 'bf16' is refused"
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    times = {}
    for precision in ("f32", "bf16", "f32", "bf16"):
        session = OpenVINOSession(onnx, precision=precision, threads=1)
        for _ in range(5):
            session.predict(x, seed=1)
        samples = []
        for _ in range(40):
            begin = time.perf_counter()
            session.predict(x, seed=1)
            samples.append(time.perf_counter() - begin)
        times.setdefault(precision, []).extend(samples)
    f32, bf16 = (1000 * float(np.min(times[p])) for p in ("f32", "bf16"))
    f32m, bf16m = (1000 * float(np.median(times[p])) for p in ("f32", "bf16"))
    return (f"native bf16 here: 'auto' picks bf16; batch 1, 1 thread, N = 3: f32 {f32:.1f} ms (median {f32m:.1f}), "
            f"bf16 {bf16:.1f} ms (median {bf16m:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--kills", type=int, default=9, help="interrupted exports (SIGKILL/SIGTERM/SIGINT in turn)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown) here")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.work)))
        return

    from malade_export.atomic import write_text_atomic

    shared = Path(tempfile.mkdtemp(prefix="hostile-onnx-"))
    onnx = shared / "good.onnx"
    subprocess.run([sys.executable, "-c", "from malade_export.cli.export import main; main()", "--steps", "3",
                    "--target", "openvino", str(onnx)], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
                   capture_output=True)
    rows = [_row("checkpoint", name, f"ckpt:{json.dumps(changes)}", None) for name, changes in CKPT_ROWS.items()]
    rows += [_row("ONNX file", name, f"onnx:{json.dumps(edit)}", onnx) for name, edit in ONNX_ROWS.items()]
    rows.append(_row("predict input", "batch 4096 (default max_batch)", "batch:4096", onnx))
    rows += [_row("seed", f"seed={literal}", f"seed:{literal}", onnx) for literal in SEED_ROWS]
    rows += [_row("command line", name, f"cli:{json.dumps(cli)}", None) for name, cli in CLI_ROWS.items()]
    nobody = _unwritable()
    if nobody:
        rows.append(_row("command line", "output folder without write permission (as nobody)",
                         'cli:["--steps", "1", "{out}/ro/o.onnx"]', None, runas=nobody["runas"]))
    rows.append(_row("OpenVINO", "precision='bf16' on a CPU with AVX-512 but no AVX512-BF16/AMX (flags given)",
                     "ov:avx512f,avx512bw,avx512vl", None))
    rows += [_row("correct use", name, f"cli:{json.dumps(cli)}", None, expect_ok=True)
             for name, cli in SUCCESS_ROWS.items()]
    rows += _kills(args.kills, shared)
    bf16 = _bf16_timing(onnx)
    shutil.rmtree(shared, ignore_errors=True)

    lines = ["| family | input | outcome | traceback | files left | refusal time | refusal added peak |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        cost = (f"{r['seconds'] * 1000:.0f} ms", f"+{r['added_mb']:.0f} MB (process {r['peak_mb']:.0f} MB)") \
            if r["refusal"] and r["seconds"] == r["seconds"] else ("", "")
        lines.append(f"| {r['family']} | {r['input']} | {'ok' if r['ok'] else 'NOT OK'}: "
                     f"{r['outcome'].replace('|', '/')[:150]} | {'yes' if r['traceback'] else 'no'} | "
                     f"{len(r['left'])} | {cost[0]} | {cost[1]} |")
    refusals = [r for r in rows if r["refusal"] and r["seconds"] == r["seconds"]]
    families: dict[str, int] = {}
    for r in rows:
        families[r["family"]] = families.get(r["family"], 0) + 1
    summary = [
        "", f"Inputs tried: {len(rows)} ({', '.join(f'{k} {v}' for k, v in families.items())}); "
        f"not ok: {sum(not r['ok'] for r in rows)}; tracebacks: {sum(r['traceback'] for r in rows)}; "
        f"files left: {sum(len(r['left']) for r in rows)}.",
        f"Refusals: slowest {max(r['seconds'] for r in refusals) * 1000:.0f} ms, largest added peak "
        f"{max(r['added_mb'] for r in refusals):.0f} MB, largest process peak "
        f"{max(r['peak_mb'] for r in refusals):.0f} MB (imports included).",
        f"OpenVINO: {bf16}.",
    ]
    text = "\n".join(lines + summary) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
