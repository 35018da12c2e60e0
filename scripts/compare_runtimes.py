#!/usr/bin/env python
"""Paired check of two chains on the same images, attack and noise: two runtimes, or two sDAEs.

    python scripts/compare_runtimes.py --candidate openvino-bf16 --attack blackbox --n 2000 --seed 0 \\
        --out results/runtime_bf16/paired_blackbox_seed0.json
    python scripts/compare_runtimes.py --reference ort --candidate ort --candidate-sdae other.safetensors

The attack is crafted once against the reference (float32 PyTorch with --sdae by default); both
chains then classify the same clean and adversarial images under the same noise. Prints and writes
both accuracies, their per-image agreement and the paired 95 % interval of the difference, with
the command, seed and commit. When the sDAEs differ, crafting against the reference favours the
candidate a little: run both directions.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from malade_export.atomic import write_text_atomic
from malade_export.attacks import AttackOptions, SubstituteSettings
from malade_export.chain import ChainSettings, preset
from malade_export.defenses import runtime_choices
from malade_export.errors import MaladeError
from malade_export.eval import attack_choices
from malade_export.eval.pipeline import DefenseSpec, EvalConfig, run_paired
from malade_export.provenance import provenance

WEIGHTS = "malade_export/weights"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--classifier", default=f"{WEIGHTS}/{preset().classifier.name}")
    parser.add_argument("--sdae", default=f"{WEIGHTS}/{preset().sdae.name}", help="the reference's sDAE")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--reference", choices=runtime_choices(), default="torch")
    parser.add_argument("--candidate", choices=runtime_choices(), default="openvino-bf16")
    parser.add_argument("--candidate-sdae", default=None, help="the candidate's sDAE [default: --sdae]")
    parser.add_argument("--attack", choices=attack_choices(), default="blackbox",
                        help="crafted once, against the reference")
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--n", type=int, default=2000, help="test images compared")
    parser.add_argument("--holdout", type=int, default=150, help="test images the black-box attacker holds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="result JSON (a .md summary is written beside it)")
    return parser


def _spec(runtime: str, sdae: str, args: argparse.Namespace) -> DefenseSpec:
    return DefenseSpec(args.classifier, "malade", sdae, runtime=runtime, chain=ChainSettings(steps=args.steps))


def _label(runtime: str, sdae: str, args: argparse.Namespace) -> str:
    """The runtime, and the sDAE's file name when the two chains differ in sDAE."""
    return runtime if args.candidate_sdae in (None, args.sdae) else f"{runtime} ({Path(sdae).name})"


def _summary(record: dict) -> str:
    lines = [f"# {record['candidate']} vs {record['reference']}: paired, {record['attack']} (n = {record['n']})", "",
             f"`{record['command']}` (seed {record['seed']}, commit {(record['commit'] or 'unknown')[:12]})", "",
             f"| images | {record['reference']} | {record['candidate']} | same label | difference [paired 95 % CI] |",
             "|---|---|---|---|---|"]
    for part, r in record["results"].items():
        low, high = r["difference_ci95"]
        lines.append(f"| {part} | {100 * r['reference']['accuracy']:.2f} % | {100 * r['candidate']['accuracy']:.2f} % "
                     f"| {100 * r['agreement']:.1f} % | {100 * r['difference']:+.2f} [{100 * low:+.2f}, "
                     f"{100 * high:+.2f}] points |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = _parser().parse_args()
    command = shlex.join(["python", "scripts/compare_runtimes.py", *sys.argv[1:]])
    started = time.perf_counter()
    candidate_sdae = args.candidate_sdae or args.sdae
    config = EvalConfig(_spec(args.reference, args.sdae, args), args.attack,
                        AttackOptions(eps=args.eps, substitute=SubstituteSettings(seed=args.seed)), args.dataset,
                        args.data_dir, args.holdout, args.n, seed=args.seed, command=command)
    try:
        results = run_paired(config, _spec(args.candidate, candidate_sdae, args))
    except MaladeError as exc:
        sys.exit(f"error: {exc}")
    record = {"reference": _label(args.reference, args.sdae, args),
              "candidate": _label(args.candidate, candidate_sdae, args), "attack": args.attack, "eps": args.eps,
              "n": args.n, "holdout": args.holdout, "dataset": args.dataset, "classifier": args.classifier,
              "sdae": args.sdae, "candidate_sdae": candidate_sdae, "steps": args.steps,
              "results": {k: v.to_dict() for k, v in results.items()},
              "seconds": round(time.perf_counter() - started, 1), **provenance(command, args.seed)}
    text = _summary(record)
    print(text, end="")
    if args.out:
        write_text_atomic(args.out, json.dumps(record, indent=2, sort_keys=True) + "\n")
        write_text_atomic(str(args.out).removesuffix(".json") + ".md", text)


if __name__ == "__main__":
    main()
