#!/usr/bin/env python
"""AutoAttack's rand version beside our PGD-EOT, through the whole Malade chain, for one preset.

    python scripts/autoattack_rand.py OUT_DIR [--preset fashion-mnist | --classifier F --sdae F]
        [--dataset fashion-mnist] [--eps 0.1] [--n 1000] [--eot 20] [--steps 100] [--seed 0]
        [--device cpu] [--rows clean,pgd,autoattack-rand,apgd-ce,apgd-dlr] [--deadline-s S]
        [-- more `malade eval` options, e.g. --mean 0.49,0.48,0.45 --std 0.25,0.24,0.26]

Each row is one `malade eval` run, written as OUT_DIR/ROW.json (+ .md) when it ends; its "command" is
that `malade eval` command, so scripts/rerun_row.py reruns it. OUT_DIR/summary.{json,md} (rewritten after
every row) hold the table with 95 % Wilson intervals, the device's name, the torchattacks version and
the worst case. With --deadline-s a row whose estimated cost (from one timed gradient pass) would not
fit in the time left is skipped and recorded as such, so a time-boxed run still ends with a summary.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from malade_export.atomic import write_text_atomic
from malade_export.bench.environment import cpu_model
from malade_export.chain import PRESETS, preset
from malade_export.cli.common import command_line
from malade_export.cli.eval import eval_cmd
from malade_export.errors import MaladeError
from malade_export.eval import Accuracy, write_result
from malade_export.eval.pipeline import EvalConfig, build, load_slice, run_eval
from malade_export.provenance import git_commit

ROWS = ("clean", "pgd", "autoattack-rand", "apgd-ce", "apgd-dlr")  # the essential rows first
ATTACK_OF = {"clean": "none", "pgd": "pgd", "autoattack-rand": "autoattack-rand", "apgd-ce": "apgd-ce",
             "apgd-dlr": "apgd-dlr"}


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--preset", default="fashion-mnist", help=f"bundled weights: {', '.join(PRESETS.names())}")
    parser.add_argument("--classifier", help="classifier file (instead of the preset's)")
    parser.add_argument("--sdae", help="sDAE checkpoint (instead of the preset's)")
    parser.add_argument("--dataset", default="fashion-mnist", help="as `malade eval --dataset`")
    parser.add_argument("--data-dir")
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--holdout", type=int, default=150)
    parser.add_argument("--eot", type=int, default=20, help="noise draws per gradient (AutoAttack rand: 20)")
    parser.add_argument("--steps", type=int, default=100, help="iterations of PGD and APGD (AutoAttack: 100)")
    parser.add_argument("--pgd-alpha", type=float, help="PGD step [default: 2.5 eps / steps, Madry et al.]")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated, run in this order")
    parser.add_argument("--deadline-s", type=float, help="skip rows whose estimated cost exceeds the time left")
    args = parser.parse_args(argv)
    unknown = [r for r in args.rows.split(",") if r not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    return args, extra


def eval_args(args: argparse.Namespace, row: str, extra: list[str]) -> list[str]:
    """The `malade eval` options of one row."""
    classifier = args.classifier or str(preset(args.preset).classifier)
    sdae = args.sdae or str(preset(args.preset).sdae)
    alpha = args.pgd_alpha if args.pgd_alpha is not None else 2.5 * args.eps / args.steps
    options = ["--dataset", args.dataset, "--classifier", classifier, "--defense", "malade", "--sdae", sdae,
               "--attack", ATTACK_OF[row], "--eps", str(args.eps), "--pgd-steps", str(args.steps),
               "--pgd-alpha", f"{alpha:.6g}", "--eot", str(args.eot), "--n", str(args.n),
               "--holdout", str(args.holdout), "--batch-size", str(args.batch_size), "--seed", str(args.seed),
               "--device", args.device]
    return options + (["--data-dir", args.data_dir] if args.data_dir else []) + extra


def config_of(options: list[str]) -> EvalConfig:
    """The evaluation `malade eval OPTIONS` would run, with the command it would record."""
    ctx = eval_cmd.make_context("malade eval", list(options))
    with ctx:
        return EvalConfig.from_params(ctx.params, command_line())


def passes_per_image(row: str, steps: int, eot: int) -> int:
    """Forward(+backward) passes of the chain per image: the row's cost in units of one timed pass."""
    attack = {"clean": 0, "pgd": steps * eot, "apgd-ce": (steps + 1) * eot, "apgd-dlr": (steps + 1) * eot,
              "autoattack-rand": 2 * (steps + 1) * eot + 2 * eot}[row]  # at most: APGD-DLR on every point
    return attack + 2  # the clean and the attacked accuracy


def seconds_per_pass(config: EvalConfig) -> float:
    """Seconds per image of one gradient pass through the chain, at the run's batch size (after a warm-up)."""
    device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    defense = build(config.defense, device)
    x = load_slice(config, device).images[: config.batch_size]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        images = x.detach().requires_grad_(True)
        torch.autograd.grad(defense(images).logsumexp(1).sum(), images)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times[1:]) / len(x)


def device_name(device: str) -> str:
    if device in ("cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return cpu_model()


def torchattacks_version() -> str | None:
    try:
        import torchattacks
    except ImportError:
        return None
    return str(torchattacks.__version__)


def percent(accuracy: dict[str, Any] | None) -> str:
    if not accuracy:
        return "-"
    return str(Accuracy(accuracy["correct"], accuracy["n"]))


def summary_markdown(summary: dict[str, Any]) -> str:
    s = summary
    lines = [
        f"# AutoAttack-rand beside PGD-EOT: {s['preset_or_files']}, eps {s['eps']}",
        "",
        f"Dataset `{s['dataset']}`, n = {s['n']}, EOT {s['eot']} draws, {s['steps']} steps, seed {s['seed']}, "
        f"commit {(s['commit'] or 'unknown')[:12]}, device {s['device_name']}, torchattacks {s['torchattacks']}.",
        "",
        f"Command: `{s['command']}`",
        "",
        "| row | attacked accuracy [95 %] | clean [95 %] | in-attack never fooled | seconds | s / image |",
        "|---|---|---|---|---|---|",
    ]
    for row in s["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['row']} | {row['status']}: {row['reason']} | | | | |")
            continue
        record = row["record"]
        in_attack = record["attack"].get("in_attack")
        never = f"{in_attack['never_fooled']}/{in_attack['n']}" if in_attack else "-"
        shown = "(clean only)" if record["attacked"] is None else percent(record["attacked"])
        lines.append(f"| {row['row']} | {shown} | {percent(record['clean'])} | {never} | {record['seconds']} | "
                     f"{record['seconds'] / s['n']:.3g} |")
    worst = s.get("worst")
    lines += ["", f"Worst case: **{', '.join(worst['rows'])}**, {worst['accuracy']}." if worst
              else "Worst case: no attacked row."]
    lines += ["", "Attacked accuracy: each returned image scored once under fresh chain noise. 'In-attack never "
              "fooled': points that no noise draw checked during the attack classified wrongly (AutoAttack's "
              "own way of counting; lower, since any one lucky draw counts)."]
    return "\n".join(lines) + "\n"


def write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    attacked = [r for r in summary["rows"] if r["status"] == "ok" and r["record"]["attacked"]]
    if attacked:
        lowest = min(r["record"]["attacked"]["accuracy"] for r in attacked)
        tied = [r for r in attacked if r["record"]["attacked"]["accuracy"] == lowest]
        summary["worst"] = {"rows": [r["row"] for r in tied], "accuracy": percent(tied[0]["record"]["attacked"])}
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    write_text_atomic(out_dir / "summary.md", summary_markdown(summary))


def main(argv: list[str]) -> int:
    args, extra = parse_args(argv)
    started = time.perf_counter()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    files = args.classifier or args.sdae
    summary: dict[str, Any] = {
        "preset_or_files": f"{args.classifier} + {args.sdae}" if files else f"preset {args.preset}",
        "dataset": args.dataset, "eps": args.eps, "n": args.n, "eot": args.eot, "steps": args.steps,
        "seed": args.seed, "device": args.device, "device_name": device_name(args.device),
        "torchattacks": torchattacks_version(), "commit": git_commit(),
        "command": shlex.join(["python", "scripts/autoattack_rand.py", *argv]), "rows": []}
    per_pass = None
    for row in args.rows.split(","):
        entry: dict[str, Any] = {"row": row}
        summary["rows"].append(entry)
        try:
            config = config_of(eval_args(args, row, extra))
            if args.deadline_s is not None and row != "clean":
                per_pass = per_pass if per_pass is not None else seconds_per_pass(config)
                estimate = per_pass * args.n * passes_per_image(row, args.steps, args.eot)
                left = args.deadline_s - (time.perf_counter() - started)
                entry["estimated_seconds"] = round(estimate, 1)
                if estimate > left:
                    entry.update(status="skipped", reason=f"estimated {estimate:.0f} s, {max(left, 0):.0f} s left")
                    print(f"autoattack_rand: {row}: skipped ({entry['reason']})", flush=True)
                    write_summary(args.out_dir, summary)
                    continue
            record = run_eval(config, progress=False)
        except MaladeError as exc:
            entry.update(status="failed", reason=" ".join(str(exc).split()))
            print(f"autoattack_rand: {row}: Error: {entry['reason']}", flush=True)
            write_summary(args.out_dir, summary)
            continue
        record["autoattack_rand"] = {
            "row": row, "script_command": summary["command"], "device_name": summary["device_name"],
            "torchattacks": summary["torchattacks"], "eot": args.eot, "steps": args.steps,
            "seconds_per_image": record["seconds"] / args.n}
        write_result(record, args.out_dir / f"{row}.json")
        entry.update(status="ok", record=record)
        print(f"autoattack_rand: {row}: clean {percent(record['clean'])}, attacked {percent(record['attacked'])} "
              f"({record['seconds']} s)", flush=True)
        write_summary(args.out_dir, summary)
    return 0 if all(r["status"] != "failed" for r in summary["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
